Feature: Registering members
  A member joins Tally with a unique handle and a display name, registered by the admin
  or by signing up. A handle has 3 to 32 characters of lowercase letters, digits, '-' and
  '_', and starts with a letter.

  Scenario: The admin registers a member, who starts with an empty wallet
    When the admin registers "carol" named "Carol Danvers"
    Then it succeeds
    And carol is a member named "Carol Danvers"
    And carol has 0 credits and 0 in escrow

  Scenario: A visitor signs up
    When a visitor signs up as "dave" named "Dave Bowman"
    Then it succeeds
    And dave is a member named "Dave Bowman"
    And there is 1 member

  Scenario Outline: A handle that breaks the rules is refused
    Given alice is a member
    When a visitor signs up as "<handle>" named "Someone"
    Then it is rejected with "invalid_handle"
    And nothing was recorded
    And there is no member "<handle>"
    And there is 1 member

    Examples:
      | handle                            | why                      |
      | al                                | too short                |
      | 9lives                            | starts with a digit      |
      | Alice                             | has a capital letter     |
      | al ice                            | has a space              |
      | abcdefghijklmnopqrstuvwxyzabcdefg | has 33 characters        |

  Scenario: A display name of only spaces is refused
    When the admin registers "carol" named "   "
    Then it is rejected with "invalid_display_name"
    And nothing was recorded
    And there is no member "carol"

  Scenario: A display name longer than 80 characters is refused
    When the admin registers "carol" with a name of 81 characters
    Then it is rejected with "invalid_display_name"
    And nothing was recorded
    And there are 0 members

  Scenario: A handle can be registered only once
    Given alice is a member
    When a visitor signs up as "alice" named "Another Alice"
    Then it is rejected with "handle_taken"
    And nothing was recorded
    And alice is a member named "Alice"

  Scenario: A member cannot register other members
    Given alice is a member
    When alice registers "mallory" named "Mallory"
    Then it is rejected with "admin_only"
    And nothing was recorded
    And there is no member "mallory"
