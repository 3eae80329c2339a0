Feature: Lists of jobs
  The job board can be searched by the words of a job's title and description, filtered by
  reward, and read a page at a time, newest first, with a count. A member sees the jobs they
  launched in every state, and the jobs they applied to with where their application is.
  Only admins see every job and other members' applications.

  Background:
    Given these members:
      | member | credits |
      | alice  | 100     |
      | bob    | 100     |
      | carol  | 0       |
      | dave   | 0       |

  Scenario: The board is read a page at a time, newest first
    Given alice has launched the job "One" with a reward of 1 credits
    And alice has launched the job "Two" with a reward of 2 credits
    And bob has launched the job "Three" with a reward of 3 credits
    And bob has launched the job "Four" with a reward of 4 credits
    And alice has launched the job "Five" with a reward of 5 credits
    When a visitor looks at the job board 2 at a time
    Then the list shows:
      | title | owner |
      | Five  | alice |
      | Four  | bob   |
    And the list counts 5 jobs in all
    And there is a next page
    And there is no previous page
    When they turn to the next page
    Then the list shows:
      | title | owner |
      | Three | bob   |
      | Two   | alice |
    When they turn to the next page
    Then the list shows:
      | title |
      | One   |
    And there is no next page
    When they turn to the previous page
    Then the list shows:
      | title |
      | Three |
      | Two   |

  Scenario: Searching the board by words that begin words of the title or description
    Given alice has launched the job "Logo design" with a reward of 10 credits
    And alice has launched the job "Website redesign" with a reward of 20 credits
    And bob has launched the job "Poster" with a reward of 5 credits
    And bob has edited the description of the job "Poster" to "A poster for the design fair."
    When carol searches the job board for "design"
    Then the list shows:
      | title       |
      | Poster      |
      | Logo design |
    And the list counts 2 jobs in all
    When carol searches the job board for "LOG des"
    Then the list shows:
      | title       |
      | Logo design |
    When carol searches the job board for "redes"
    Then the list shows:
      | title            |
      | Website redesign |
    When carol searches the job board for "painting"
    Then the list is empty
    And the list counts 0 jobs in all

  Scenario: Filtering the board by reward
    Given alice has launched the job "Small" with a reward of 5 credits
    And alice has launched the job "Medium" with a reward of 20 credits
    And bob has launched the job "Large" with a reward of 60 credits
    When dave looks for open jobs with a reward from 10 to 60 credits
    Then the list shows:
      | title  | reward |
      | Large  | 60     |
      | Medium | 20     |

  Scenario: alice sees the jobs she launched, in every state
    Given alice has launched the job "Logo design" with a reward of 10 credits
    And alice has launched the job "Website" with a reward of 10 credits
    And alice has launched the job "Poster" with a reward of 10 credits
    And alice has launched the job "Flyer" with a reward of 10 credits
    And bob has launched the job "Not hers" with a reward of 10 credits
    And carol has applied to the job "Logo design"
    And dave has applied to the job "Logo design"
    And carol has applied to the job "Website"
    And alice has accepted carol for the job "Logo design"
    And alice has accepted carol for the job "Website"
    And alice has completed the job "Website"
    And alice has cancelled the job "Poster"
    When alice looks at the jobs she launched
    Then the list shows:
      | title       | status      | applications |
      | Flyer       | open        | 0            |
      | Poster      | cancelled   | 0            |
      | Website     | completed   | 1            |
      | Logo design | in progress | 2            |
    When alice looks at the jobs she launched that are completed
    Then the list shows:
      | title   |
      | Website |

  Scenario: carol sees the jobs she applied to, with where each application is
    Given alice has launched the job "Logo design" with a reward of 10 credits
    And alice has launched the job "Website" with a reward of 10 credits
    And bob has launched the job "Poster" with a reward of 10 credits
    And bob has launched the job "Flyer" with a reward of 10 credits
    And carol has applied to the job "Logo design"
    And carol has applied to the job "Website"
    And dave has applied to the job "Website"
    And carol has applied to the job "Poster"
    And carol has applied to the job "Flyer"
    And alice has accepted carol for the job "Logo design"
    And alice has accepted dave for the job "Website"
    And carol has withdrawn from the job "Poster"
    And bob has cancelled the job "Flyer"
    When carol looks at the jobs she applied to
    Then the list shows:
      | title       | status      | application  |
      | Flyer       | cancelled   | closed       |
      | Poster      | open        | withdrawn    |
      | Website     | in progress | not selected |
      | Logo design | in progress | accepted     |
    And nothing was recorded

  Scenario: A member cannot list another member's applications
    Given alice has launched the job "Logo design" with a reward of 10 credits
    And carol has applied to the job "Logo design"
    When dave looks at the jobs that carol applied to
    Then it is rejected with "admin_only"
    And nothing was recorded

  Scenario: A visitor cannot list a member's finished jobs
    Given alice has launched the job "Logo design" with a reward of 10 credits
    And alice has cancelled the job "Logo design"
    When a visitor looks at alice's jobs that are no longer open
    Then it is rejected with "unauthorized"

  Scenario: The admin sees every job, in every state
    Given alice has launched the job "Logo design" with a reward of 10 credits
    And bob has launched the job "Poster" with a reward of 10 credits
    And bob has cancelled the job "Poster"
    When the admin looks at every job
    Then the list shows:
      | title       | owner | status    |
      | Poster      | bob   | cancelled |
      | Logo design | alice | open      |
    And the list counts 2 jobs in all

  Scenario: The admin sees the jobs carol applied to
    Given alice has launched the job "Logo design" with a reward of 10 credits
    And carol has applied to the job "Logo design"
    When the admin looks at the jobs that carol applied to
    Then the list shows:
      | title       | status |
      | Logo design | open   |
