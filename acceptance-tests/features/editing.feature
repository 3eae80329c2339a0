Feature: Editing a job's description
  While a job is open, its owner may rewrite its description, by the rules of a description
  at launch (at most 5000 characters; it may be empty). Everyone who looks at the job sees
  the new text; the history keeps every version.

  Background:
    Given these members:
      | member | credits |
      | alice  | 100     |
      | bob    | 0       |
    And alice has launched the job "Logo design" with a reward of 30 credits

  Scenario: The owner edits the description of an open job
    When alice edits the description of the job "Logo design" to "A logo for a bakery, in two colours."
    Then it succeeds
    And the job "Logo design" has the description "A logo for a bakery, in two colours."
    And the job "Logo design" records 1 JobDescriptionEdited event
    And the job "Logo design" is open
    And alice has 70 credits and 30 in escrow

  Scenario: Applicants see the new description
    Given bob has applied to the job "Logo design"
    And alice has edited the description of the job "Logo design" to "Round, and in blue."
    When bob looks at the job "Logo design"
    Then they see the description "Round, and in blue."

  Scenario: The history keeps the description as it was
    Given alice has edited the description of the job "Logo design" to "Round, and in blue."
    When alice reads the history of the job "Logo design"
    Then the history reads:
      | event                | by    |
      | JobLaunched          | alice |
      | JobDescriptionEdited | alice |
    When alice looks at the job "Logo design" as of version 1
    Then that was version 1
    And back then the job had the description "Everything about Logo design."
    When alice looks at the job "Logo design" as it was when its 2nd event was recorded
    Then back then the job had the description "Round, and in blue."

  Scenario: A description may be emptied
    When alice edits the description of the job "Logo design" to ""
    Then it succeeds
    And the job "Logo design" has the description ""

  Scenario: Only the owner edits the description
    When bob edits the description of the job "Logo design" to "Mine now."
    Then it is rejected with "not_job_owner"
    And nothing was recorded
    And the job "Logo design" has the description "Everything about Logo design."

  Scenario: The admin does not edit members' jobs
    When the admin edits the description of the job "Logo design" to "Edited by the admin."
    Then it is rejected with "members_only"
    And nothing was recorded

  Scenario: A visitor must sign in first
    When a visitor edits the description of the job "Logo design" to "Anonymous edit."
    Then it is rejected with "unauthorized"
    And nothing was recorded

  Scenario: A job in progress keeps its description
    Given bob has applied to the job "Logo design"
    And alice has accepted bob for the job "Logo design"
    When alice edits the description of the job "Logo design" to "Changed the brief."
    Then it is rejected with "job_not_open"
    And nothing was recorded
    And the job "Logo design" has the description "Everything about Logo design."

  Scenario: A cancelled job keeps its description
    Given alice has cancelled the job "Logo design"
    When alice edits the description of the job "Logo design" to "Changed the brief."
    Then it is rejected with "job_not_open"
    And nothing was recorded

  Scenario: An edit must change the description
    When alice edits the description of the job "Logo design" to "Everything about Logo design."
    Then it is rejected with "description_unchanged"
    And nothing was recorded
    And the job "Logo design" records 0 JobDescriptionEdited events

  Scenario: A description has at most 5000 characters
    When alice edits the description of the job "Logo design" to a text of 5001 characters
    Then it is rejected with "invalid_description"
    And nothing was recorded
    And the job "Logo design" has the description "Everything about Logo design."

  Scenario: Nobody edits a job that was never launched
    Given no job called "Ghost work" was ever launched
    When alice edits the description of the job "Ghost work" to "Boo."
    Then it is rejected with "unknown_job"
    And nothing was recorded
