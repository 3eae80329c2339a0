Feature: Idempotent commands
  A command may carry a command id chosen by whoever sends it. Sending it again with the same
  id records nothing new and gives the same receipt, so it is safe to retry after a failure.
  Using the id for a different command is refused.

  Background:
    Given alice is a member

  Scenario: The same grant sent twice is recorded once
    When the admin grants 100 credits to alice with the command id "grant-1"
    And the admin grants 100 credits to alice with the command id "grant-1"
    Then both receipts are the same
    And alice has 100 credits
    And alice's wallet records 1 CreditsGranted event

  Scenario: A command id reused for a different grant is refused
    Given the admin has granted 5 credits to alice
    When the admin grants 100 credits to alice with the command id "grant-1"
    And the admin grants 200 credits to alice with the command id "grant-1"
    Then it is rejected with "command_id_reused"
    And nothing was recorded
    And alice has 105 credits

  Scenario: A command id reused for another kind of command is refused
    When the admin grants 100 credits to alice with the command id "c-1"
    And alice launches the job "Logo design" with a reward of 10 credits with the command id "c-1"
    Then it is rejected with "command_id_reused"
    And nothing was recorded
    And alice has 100 credits and 0 in escrow

  Scenario: The same launch sent twice launches one job
    Given the admin has granted 100 credits to alice
    When alice launches the job "Logo design" with a reward of 40 credits with the command id "launch-1"
    And alice launches the job "Logo design" with a reward of 40 credits with the command id "launch-1"
    Then both receipts are the same
    And alice has 60 credits and 40 in escrow
    And the job board shows 1 job

  Scenario: The same sign-up sent twice registers once
    When a visitor signs up as "bob" named "Bob"
    And the admin registers "carol" named "Carol" with the command id "reg-1"
    And the admin registers "carol" named "Carol" with the command id "reg-1"
    Then both receipts are the same
    And carol's wallet records 1 MemberRegistered event
