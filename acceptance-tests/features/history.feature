Feature: History with actors
  Every entity keeps the history of what happened to it: each event with its type, its time
  and who did it. A member reads their own wallet's history; an owner their job's; the
  admin everything.

  Background:
    Given these members:
      | member | credits |
      | alice  | 100     |
      | bob    | 0       |
    And alice has launched the job "Logo design" with a reward of 30 credits
    And bob has applied to the job "Logo design"
    And alice has accepted bob for the job "Logo design"
    And alice has completed the job "Logo design"

  Scenario: A wallet's history shows who did what
    When the admin reads the history of alice's wallet
    Then the history reads:
      | event            | by        |
      | MemberRegistered | the admin |
      | CreditsGranted   | the admin |
      | CreditsEscrowed  | alice     |
      | EscrowReleased   | alice     |
    And every event in it has a time, in the order they happened

  Scenario: A participant's wallet shows the payment made by the owner
    When bob reads the history of bob's wallet
    Then the history reads:
      | event            | by        |
      | MemberRegistered | the admin |
      | CreditsEarned    | alice     |

  Scenario: A job's history shows its owner and its participant at work
    When alice reads the history of the job "Logo design"
    Then the history reads:
      | event                | by    |
      | JobLaunched          | alice |
      | ApplicationSubmitted | bob   |
      | ApplicantAccepted    | alice |
      | JobCompleted         | alice |
    And every event in it has a time, in the order they happened

  Scenario: A member who signed up did so themselves
    When a visitor signs up as "erin" named "Erin"
    And the admin reads the history of erin's wallet
    Then the history reads:
      | event            | by        |
      | MemberRegistered | a visitor |

  Scenario: A member cannot read another member's history
    When bob reads the history of alice's wallet
    Then it is rejected with "not_your_wallet"
    And nothing was recorded

  Scenario: There is no history of someone who is not a member
    When the admin reads the history of zoe's wallet
    Then it is rejected with "unknown_member"
    And nothing was recorded
