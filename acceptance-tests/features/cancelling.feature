Feature: Cancelling a job with refund
  The owner may cancel an open job (nobody accepted yet): the reward returns from escrow to
  the owner's balance, in the same step.

  Background:
    Given these members:
      | member | credits |
      | alice  | 100     |
      | bob    | 0       |
    And alice has launched the job "Logo design" with a reward of 30 credits

  Scenario: Cancelling an open job refunds its owner
    Given bob has applied to the job "Logo design"
    When alice cancels the job "Logo design" because "the brand was dropped"
    Then it succeeds
    And the job "Logo design" is cancelled
    And the job "Logo design" was cancelled because "the brand was dropped"
    And alice has 100 credits and 0 in escrow
    And the job board does not show "Logo design"

  Scenario: A job in progress cannot be cancelled
    Given bob has applied to the job "Logo design"
    And alice has accepted bob for the job "Logo design"
    When alice cancels the job "Logo design"
    Then it is rejected with "job_not_open"
    And nothing was recorded
    And the job "Logo design" is in progress
    And alice has 70 credits and 30 in escrow

  Scenario: Only the owner cancels
    When bob cancels the job "Logo design"
    Then it is rejected with "not_job_owner"
    And nothing was recorded
    And the job "Logo design" is open
    And alice has 70 credits and 30 in escrow

  Scenario: A job is refunded only once
    Given alice has cancelled the job "Logo design"
    When alice cancels the job "Logo design"
    Then it is rejected with "job_not_open"
    And nothing was recorded
    And alice has 100 credits and 0 in escrow
    And alice's wallet records 1 CreditsRefunded event

  Scenario: Nobody cancels a job that was never launched
    Given no job called "Ghost work" was ever launched
    When alice cancels the job "Ghost work"
    Then it is rejected with "unknown_job"
    And nothing was recorded
    And alice has 70 credits and 30 in escrow
