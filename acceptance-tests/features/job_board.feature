Feature: The job board
  The job board lists the open jobs, newest first. Jobs in progress, completed or cancelled
  are not on it. Anyone may look at it, signed in or not.

  Background:
    Given these members:
      | member | credits |
      | alice  | 100     |
      | bob    | 100     |
      | carol  | 0       |

  Scenario: Open jobs, newest first
    Given alice has launched the job "Logo design" with a reward of 10 credits
    And bob has launched the job "Website" with a reward of 20 credits
    And alice has launched the job "Poster" with a reward of 5 credits
    When a visitor looks at the job board
    Then it succeeds
    And the job board shows:
      | title       | owner | reward |
      | Poster      | alice | 5      |
      | Website     | bob   | 20     |
      | Logo design | alice | 10     |

  Scenario: Jobs that are no longer open leave the board
    Given alice has launched the job "Logo design" with a reward of 10 credits
    And alice has launched the job "Website" with a reward of 10 credits
    And alice has launched the job "Poster" with a reward of 10 credits
    And bob has launched the job "Flyer" with a reward of 10 credits
    And carol has applied to the job "Logo design"
    And carol has applied to the job "Website"
    And alice has accepted carol for the job "Logo design"
    And alice has accepted carol for the job "Website"
    And alice has completed the job "Website"
    And alice has cancelled the job "Poster"
    When carol looks at the job board
    Then the job board shows:
      | title | owner | reward |
      | Flyer | bob   | 10     |

  Scenario: With no open job, the board is empty
    When the admin looks at the job board
    Then it succeeds
    And the job board is empty
