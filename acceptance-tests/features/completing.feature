Feature: Completing a job with payout
  The owner completes a job in progress: the reward leaves the owner's escrow and is paid
  into the participant's wallet, in the same step.

  Background:
    Given these members:
      | member | credits |
      | alice  | 100     |
      | bob    | 5       |
    And alice has launched the job "Logo design" with a reward of 30 credits
    And bob has applied to the job "Logo design"

  Scenario: Completing a job pays the participant
    Given alice has accepted bob for the job "Logo design"
    When alice completes the job "Logo design"
    Then it succeeds
    And the job "Logo design" is completed
    And bob has 35 credits
    And alice has 70 credits and 0 in escrow
    And alice holds nothing in escrow for the job "Logo design"

  Scenario: A job nobody was accepted for cannot be completed
    When alice completes the job "Logo design"
    Then it is rejected with "job_not_in_progress"
    And nothing was recorded
    And bob has 5 credits
    And alice has 70 credits and 30 in escrow

  Scenario: A job is paid only once
    Given alice has accepted bob for the job "Logo design"
    And alice has completed the job "Logo design"
    When alice completes the job "Logo design"
    Then it is rejected with "job_not_in_progress"
    And nothing was recorded
    And bob has 35 credits
    And bob's wallet records 1 CreditsEarned event

  Scenario: The participant cannot complete the job themselves
    Given alice has accepted bob for the job "Logo design"
    When bob completes the job "Logo design"
    Then it is rejected with "not_job_owner"
    And nothing was recorded
    And the job "Logo design" is in progress
    And bob has 5 credits

  Scenario: Nobody completes a job that was never launched
    Given no job called "Ghost work" was ever launched
    When alice completes the job "Ghost work"
    Then it is rejected with "unknown_job"
    And nothing was recorded
