Feature: Reports and fraud signals
  The reports are folded from the whole history, after the fact: they catch up with it
  shortly after each command. Daily totals count what moved each day (UTC); fraud signals
  point at patterns worth a look, with the members involved.

  Background:
    Given these members:
      | member | credits |
      | alice  | 500     |
      | bob    | 0       |
      | carol  | 0       |

  Scenario: A day's totals
    Given 5 minutes pass
    And alice has launched the job "Logo design" with a reward of 30 credits
    And bob has applied to the job "Logo design"
    And alice has accepted bob for the job "Logo design"
    And alice has completed the job "Logo design"
    And alice has launched the job "Flyer" with a reward of 20 credits
    And alice has cancelled the job "Flyer"
    When the reports have caught up
    Then the day's totals are:
      | granted            | 500 |
      | escrowed           | 50  |
      | earned             | 30  |
      | refunded           | 20  |
      | jobs launched      | 2   |
      | jobs completed     | 1   |
      | jobs cancelled     | 1   |
      | members registered | 3   |
      | active members     | 2   |
    And there are no fraud signals

  Scenario: Collusion: one owner pays one participant three times within 24 hours
    Given alice has paid bob for a job
    And 11 hours pass
    And alice has paid bob for a job
    And 11 hours pass
    And alice has paid bob for a job
    When the reports have caught up
    Then there is a collusion signal about alice and bob

  Scenario: Two payments within 24 hours are not collusion
    Given alice has paid bob for a job
    And 1 hour passes
    And alice has paid bob for a job
    And alice has paid carol for a job
    When the reports have caught up
    Then there is no collusion signal

  Scenario: Three payments spread over 25 hours are not collusion
    Given alice has paid bob for a job
    And 12 hours pass
    And 30 minutes pass
    And alice has paid bob for a job
    And 12 hours pass
    And 30 minutes pass
    And alice has paid bob for a job
    When the reports have caught up
    Then there is no collusion signal

  Scenario: Refund churn: one owner cancels three jobs within 24 hours
    Given alice has launched and cancelled a job
    And 10 hours pass
    And alice has launched and cancelled a job
    And 10 hours pass
    And alice has launched and cancelled a job
    When the reports have caught up
    Then there is a refund churn signal about alice

  Scenario: Three cancellations spread over 25 hours are not refund churn
    Given alice has launched and cancelled a job
    And 12 hours pass
    And 30 minutes pass
    And alice has launched and cancelled a job
    And 12 hours pass
    And 30 minutes pass
    And alice has launched and cancelled a job
    When the reports have caught up
    Then there is no refund churn signal

  Scenario: Quick cash-out: granted credits escrowed within a minute
    Given the admin has granted 100 credits to bob
    And 30 seconds pass
    And bob has launched the job "Errand" with a reward of 50 credits
    When the reports have caught up
    Then there is a quick cash-out signal about bob

  Scenario: Escrowing two minutes after a grant is no quick cash-out
    Given the admin has granted 100 credits to bob
    And 2 minutes pass
    And bob has launched the job "Errand" with a reward of 50 credits
    When the reports have caught up
    Then there is no quick cash-out signal
