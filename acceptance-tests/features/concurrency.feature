@concurrency
Feature: Concurrency
  Commands race each other. Every rule still holds, no balance goes below zero, and no
  credit is created or lost: the credits granted equal the balances plus the rewards held
  by open and in-progress jobs.

  Scenario: A balance that covers only some of many simultaneous launches
    Given alice is a member with 100 credits
    When alice launches 30 jobs at once, each with a reward of 10 credits
    Then 10 of them succeed
    And the other 20 are rejected with "insufficient_credits"
    And alice has 0 credits and 100 in escrow
    And alice's wallet records 10 CreditsEscrowed events
    And the job board shows 10 jobs
    And no wallet ever had a negative balance
    And the credits granted equal the balances plus the rewards held by open and in-progress jobs

  Scenario: The same grant sent many times at once is recorded once
    Given alice is a member
    When the admin grants 100 credits to alice 10 times at once with the command id "grant-1"
    Then 10 of them succeed
    And they all name the same events
    And alice has 100 credits
    And alice's wallet records 1 CreditsGranted event

  Scenario: Many members apply to the same job at once
    Given alice is a member with 100 credits
    And alice has launched the job "Logo design" with a reward of 30 credits
    And 20 applicants are members
    When every applicant applies to the job "Logo design" at once
    Then 20 of them succeed
    And the job "Logo design" has 20 live applications

  Scenario: Members racing each other neither create nor lose credits
    Given 8 racing members with 300 credits each
    When the members race, launching, applying, withdrawing, accepting, completing and cancelling jobs while the admin grants credits
    Then every command either succeeded or was refused by a business rule
    And no wallet ever had a negative balance
    And every open or in-progress job holds its reward in its owner's escrow
    And the credits granted equal the balances plus the rewards held by open and in-progress jobs
