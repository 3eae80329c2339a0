Feature: Finding members
  Admins look members up by any part of their handle or name, in any case, a page at a time
  in handle order, with how many match. Each member shows when they joined, when they were
  last active, and whether they can log in.

  Background:
    Given these members:
      | member | name              |
      | alice  | Alice Liddell     |
      | bob    | Bob Marley        |
      | carol  | Caroline Herschel |
      | dave   | Dave Bowman       |
      | erin   | Erin Brockovich   |

  Scenario: By part of a name, in any case
    When the admin looks for members matching "LI"
    Then it succeeds
    And the members found are alice and carol
    And 2 members match

  Scenario: By part of a handle
    When the admin looks for members matching "ave"
    Then the members found are dave
    And 1 member matches

  Scenario: A search nobody matches
    When the admin looks for members matching "zed"
    Then it succeeds
    And no member is found
    And 0 members match

  Scenario: Page by page, in handle order
    When the admin looks at the members 2 at a time
    Then the members found are alice and bob
    And 5 members match
    When the admin turns to the next page of members
    Then the members found are carol and dave
    When the admin turns to the next page of members
    Then the members found are erin
    And there is no next page of members
    When the admin turns back a page of members
    Then the members found are carol and dave
    And 5 members match

  Scenario: A search, page by page
    When the admin looks for members matching "o" 2 at a time
    Then the members found are bob and carol
    And 4 members match
    When the admin turns to the next page of members
    Then the members found are dave and erin
    And there is no next page of members

  Scenario: When a member joined and when they were last active
    Given frank is a member
    And 3 hours pass
    And the admin has granted 10 credits to frank
    When the admin looks for members matching "frank"
    Then frank joined 3 hours before they were last active

  Scenario: Whether a member can log in
    Given gina has signed up
    When the admin looks for members matching "gina"
    Then the members found are gina
    And gina has an account

  Scenario: Only admins look members up
    When bob looks for members matching "a"
    Then it is rejected with "admin_only"
