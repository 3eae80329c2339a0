Feature: Time travel
  The state of any entity as it was at an earlier version, or at an earlier time, can be
  looked at. The times come from what the history reports.

  Background:
    Given alice is a member
    And bob is a member
    And the admin has granted 100 credits to alice
    And the admin has granted 50 credits to alice
    And alice has launched the job "Logo design" with a reward of 30 credits

  Scenario Outline: A wallet as of a version
    When the admin looks at alice's wallet as of version <version>
    Then it succeeds
    And that was version <version>
    And back then alice had <balance> credits and <escrow> in escrow

    Examples:
      | version | balance | escrow |
      | 1       | 0       | 0      |
      | 2       | 100     | 0      |
      | 3       | 150     | 0      |
      | 4       | 120     | 30     |

  Scenario: A wallet as it was at the time of an earlier event
    When the admin looks at alice's wallet as it was when its 2nd event was recorded
    Then it succeeds
    And that was version 2
    And back then alice had 100 credits and 0 in escrow

  Scenario: A member travels back in their own wallet
    When alice looks at alice's wallet as it was when its 3rd event was recorded
    Then that was version 3
    And back then alice had 150 credits and 0 in escrow

  Scenario: A job as it was before its participant was accepted
    Given bob has applied to the job "Logo design"
    And alice has accepted bob for the job "Logo design"
    When alice looks at the job "Logo design" as of version 2
    Then that was version 2
    And back then the job was open with 1 live application

  Scenario: A job as it was at the time of its launch
    Given bob has applied to the job "Logo design"
    When the admin looks at the job "Logo design" as it was when its 1st event was recorded
    Then that was version 1
    And back then the job was open with 0 live applications

  Scenario: A version the wallet never had
    When the admin looks at alice's wallet as of version 9
    Then it is rejected with "no_such_version"
    And nothing was recorded

  Scenario: A time before the wallet existed
    When the admin looks at alice's wallet as it was just before its first event
    Then it is rejected with "no_such_version"
    And nothing was recorded

  Scenario: A member cannot travel back in another member's wallet
    When bob looks at alice's wallet as of version 2
    Then it is rejected with "not_your_wallet"
    And nothing was recorded
