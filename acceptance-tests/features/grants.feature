Feature: Granting credits
  The admin grants credits to a member's wallet: from 1 to 1,000,000 at a time.

  Background:
    Given alice is a member

  Scenario: The admin grants credits to a member
    When the admin grants 100 credits to alice for "welcome bonus"
    Then it succeeds
    And alice has 100 credits and 0 in escrow
    And alice has been granted 100 credits in all

  Scenario: The admin says what kind of grant it is
    When the admin grants 50 credits to alice for "spring sale" in the category promotion
    Then it succeeds
    And alice has 50 credits
    And alice's latest grant is in the category promotion

  Scenario: A grant without a category is an "other" grant
    When the admin grants 50 credits to alice for "thanks"
    Then it succeeds
    And alice's latest grant is in the category other

  Scenario: A category that does not exist is refused
    When the admin grants 50 credits to alice for "under the table" in the category bribe
    Then it is rejected with "invalid_category"
    And nothing was recorded
    And alice has 0 credits

  Scenario: Grants add up
    Given the admin has granted 100 credits to alice
    When the admin grants 1000000 credits to alice
    Then it succeeds
    And alice has 1000100 credits
    And alice has been granted 1000100 credits in all

  Scenario Outline: An amount out of bounds is refused
    Given the admin has granted 10 credits to alice
    When the admin grants <amount> credits to alice
    Then it is rejected with "invalid_amount"
    And nothing was recorded
    And alice has 10 credits

    Examples:
      | amount  |
      | 0       |
      | -5      |
      | 1000001 |

  Scenario: Credits cannot be granted to someone who is not a member
    When the admin grants 100 credits to zoe
    Then it is rejected with "unknown_member"
    And nothing was recorded
    And there is no member "zoe"

  Scenario: A member cannot grant credits
    Given bob is a member
    When bob grants 100 credits to alice
    Then it is rejected with "admin_only"
    And nothing was recorded
    And alice has 0 credits

  Scenario: A visitor cannot grant credits
    When a visitor grants 100 credits to alice
    Then it is rejected with "unauthorized"
    And nothing was recorded
    And alice has 0 credits
