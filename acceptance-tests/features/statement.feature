Feature: A wallet's statement
  A wallet reads like a bank statement: every movement of credits, newest first, with its
  signed effect on the available balance, the balance after it, the job by its title and who
  was on the other side; filtered by kind, a page at a time; and the balance over time.

  Background:
    Given these members:
      | member | credits |
      | alice  | 100     |
      | bob    | 0       |
    And alice has launched the job "Logo design" with a reward of 30 credits
    And alice has launched the job "Poster" with a reward of 10 credits
    And bob has applied to the job "Logo design"
    And alice has accepted bob for the job "Logo design"
    And alice has completed the job "Logo design"
    And alice has cancelled the job "Poster"

  Scenario: alice's statement, newest first, with the balance after each line
    When alice looks at her statement
    Then the statement shows:
      | what     | change | balance | job         | other side |
      | refunded | +10    | 70      | Poster      |            |
      | paid out | 0      | 60      | Logo design | bob        |
      | escrowed | -10    | 60      | Poster      |            |
      | escrowed | -30    | 70      | Logo design |            |
      | granted  | +100   | 100     |             |            |
    And the balance over time goes "100, 70, 60, 60, 70"
    And nothing was recorded

  Scenario: bob's statement says who paid him
    When bob looks at his statement
    Then the statement shows:
      | what   | change | balance | job         | other side |
      | earned | +30    | 30      | Logo design | alice      |

  Scenario: Only the lines of one kind
    When alice looks at the escrowed lines of her statement
    Then the statement shows:
      | what     | job         |
      | escrowed | Poster      |
      | escrowed | Logo design |
    And the statement counts 2 lines in all

  Scenario: A long statement is read a page at a time
    When alice looks at her statement 2 lines at a time
    Then the statement shows:
      | what     |
      | refunded |
      | paid out |
    And the statement counts 5 lines in all
    When they turn to the older lines
    Then the statement shows:
      | what     | job         |
      | escrowed | Poster      |
      | escrowed | Logo design |
    When they turn to the older lines
    Then the statement shows:
      | what    |
      | granted |
    And there are no older lines

  Scenario: A member cannot read another member's statement
    When bob looks at alice's statement
    Then it is rejected with "not_your_wallet"
    And nothing was recorded

  Scenario: The admin reads any member's statement
    When the admin looks at bob's statement
    Then the statement shows:
      | what   | change |
      | earned | +30    |
