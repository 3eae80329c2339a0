Feature: Applying to a job
  A member applies to another member's open job with a pitch. One live application per
  member and job.

  Background:
    Given these members:
      | member | credits |
      | alice  | 100     |
      | bob    | 0       |
    And alice has launched the job "Logo design" with a reward of 30 credits

  Scenario: A member applies to an open job
    When bob applies to the job "Logo design" with the pitch "I draw logos for a living"
    Then it succeeds
    And bob's application to the job "Logo design" is live
    And the job "Logo design" has 1 live application
    And the job "Logo design" is open

  Scenario: An applicant says how many days they need, and the owner sees it
    When bob applies to the job "Logo design" with the pitch "Three drafts" proposing 12 days
    Then it succeeds
    And alice sees that bob expects to need 12 days for the job "Logo design"

  Scenario: An estimate is optional
    When bob applies to the job "Logo design" with the pitch "I draw logos for a living"
    Then it succeeds
    And alice sees that bob gave no estimate for the job "Logo design"

  Scenario Outline: An estimate out of range is refused
    When bob applies to the job "Logo design" with the pitch "Fast" proposing <days> days
    Then it is rejected with "invalid_proposed_days"
    And nothing was recorded
    And the job "Logo design" has 0 live applications

    Examples:
      | days |
      | 0    |
      | 366  |

  Scenario: The owner cannot apply to their own job
    When alice applies to the job "Logo design" with the pitch "Me, myself"
    Then it is rejected with "own_job"
    And nothing was recorded
    And the job "Logo design" has 0 live applications

  Scenario: A member applies only once
    Given bob has applied to the job "Logo design" with the pitch "First try"
    When bob applies to the job "Logo design" with the pitch "Second try"
    Then it is rejected with "already_applied"
    And nothing was recorded
    And the job "Logo design" has 1 live application

  Scenario: Nobody can apply to a job that was never launched
    Given no job called "Ghost work" was ever launched
    When bob applies to the job "Ghost work" with the pitch "Anything"
    Then it is rejected with "unknown_job"
    And nothing was recorded

  Scenario: Nobody can apply to a cancelled job
    Given alice has cancelled the job "Logo design"
    When bob applies to the job "Logo design" with the pitch "Too late?"
    Then it is rejected with "job_not_open"
    And nothing was recorded
    And the job "Logo design" has 0 live applications

  Scenario: Nobody can apply to a job in progress
    Given carol is a member
    And carol has applied to the job "Logo design"
    And alice has accepted carol for the job "Logo design"
    When bob applies to the job "Logo design" with the pitch "Pick me instead"
    Then it is rejected with "job_not_open"
    And nothing was recorded
    And the job "Logo design" has 0 live applications

  Scenario Outline: A pitch must have 1 to 2000 characters
    When bob applies to the job "Logo design" with a pitch of <length> characters
    Then it is rejected with "invalid_pitch"
    And nothing was recorded
    And the job "Logo design" has 0 live applications

    Examples:
      | length |
      | 0      |
      | 2001   |

  Scenario: The admin does not apply to jobs
    When the admin applies to the job "Logo design" with the pitch "I am the admin"
    Then it is rejected with "members_only"
    And nothing was recorded
