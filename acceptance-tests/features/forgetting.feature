Feature: Forgetting a member
  A member may ask to be forgotten: an admin forgets them, or they do it themselves after
  re-entering their password. Their name, pitches, the descriptions of the jobs they launched
  and the reasons of their grants then read as "forgotten member" everywhere (views, history,
  the feed), because the key they were sealed with is gone; their credits, escrows and jobs
  stay accounted for under their handle, a public and permanent pseudonym.

  Background:
    Given these members:
      | member | name            | credits |
      | alice  | Alice Liddell   | 100     |
      | bob    | Bob Builder     | 100     |
      | carol  | Carol Danvers   | 0       |
    And bob has launched the job "Logo design" with a reward of 30 credits
    And alice has applied to the job "Logo design" with the pitch "Alice's secret plan"
    And alice has launched the job "Fence" described as "Alice's white fence" with a reward of 30 credits

  Scenario: After alice is forgotten, bob sees "forgotten member" where her name and words were
    When the admin forgets alice
    Then it succeeds
    And alice is a member named "forgotten member"
    And bob sees the description of the job "Fence" as "forgotten member"
    And the history of alice shows the grant reason "welcome" nowhere and "forgotten member" instead
    And the feed holds "Alice Liddell" nowhere
    And the feed holds "Alice's white fence" nowhere
    And bob is a member named "Bob Builder"

  Scenario: Her pitch is gone from the owner's view
    Given the admin has forgotten alice
    When bob looks at every application to the job "Logo design"
    Then they see these applications:
      | member | pitch            | status |
      | alice  | forgotten member | live   |
    And the feed holds "Alice's secret plan" nowhere

  Scenario: Her credits are still accounted for
    When the admin forgets alice
    Then it succeeds
    And alice has 70 credits and 30 in escrow
    And the credits granted equal the balances plus the rewards held by open and in-progress jobs

  Scenario: A member cannot forget someone else
    When carol forgets alice
    Then it is rejected with "not_yourself"
    And nothing was recorded
    And alice is a member named "Alice Liddell"

  Scenario: A member is forgotten once
    Given the admin has forgotten alice
    When the admin forgets alice
    Then it is rejected with "member_forgotten"
    And nothing was recorded
