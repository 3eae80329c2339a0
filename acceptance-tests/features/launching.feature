Feature: Launching jobs with escrow
  A member launches a job with a reward. The reward leaves the owner's balance and is held
  in escrow for the job, in the same step: the job never exists without its escrow.

  Background:
    Given alice is a member with 100 credits

  Scenario: Launching a job escrows its reward
    When alice launches the job "Logo design" with a reward of 30 credits
    Then it succeeds
    And the job "Logo design" is open
    And the job "Logo design" is owned by alice and offers 30 credits
    And alice has 70 credits and 30 in escrow
    And alice holds 30 credits in escrow for the job "Logo design"

  Scenario: A member may put their whole balance into one job
    When alice launches the job "Website" with a reward of 100 credits
    Then it succeeds
    And alice has 0 credits and 100 in escrow

  Scenario: A reward above the balance is refused
    Given alice has launched the job "Logo design" with a reward of 80 credits
    When alice launches the job "Website" with a reward of 21 credits
    Then it is rejected with "insufficient_credits"
    And nothing was recorded
    And alice has 20 credits and 80 in escrow
    And the job board does not show "Website"

  Scenario Outline: A reward out of bounds is refused
    When alice launches the job "Logo design" with a reward of <reward> credits
    Then it is rejected with "invalid_reward"
    And nothing was recorded
    And alice has 100 credits and 0 in escrow

    Examples:
      | reward |
      | 0      |
      | -10    |

  Scenario Outline: A title must have 1 to 120 characters
    When alice launches a job with a title of <length> characters and a reward of 10 credits
    Then it is rejected with "invalid_title"
    And nothing was recorded
    And alice has 100 credits and 0 in escrow
    And the job board is empty

    Examples:
      | length |
      | 0      |
      | 121    |

  Scenario: A title of 120 characters is fine
    When alice launches a job with a title of 120 characters and a reward of 10 credits
    Then it succeeds
    And alice has 90 credits and 10 in escrow

  Scenario: The admin does not launch jobs
    When the admin launches the job "Audit" with a reward of 10 credits
    Then it is rejected with "members_only"
    And nothing was recorded
    And the job board is empty

  Scenario: Someone who is not a member cannot launch a job
    When zoe launches the job "Ghost work" with a reward of 10 credits
    Then it is rejected with "unknown_member"
    And nothing was recorded
    And the job board is empty
