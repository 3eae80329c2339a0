Feature: Participant privacy
  Anyone, visitors too, sees a job's public details; a participant sees only their own
  application: never another applicant's pitch. The owner sees every application and its pitch. A member sees only
  their own wallet.

  Background:
    Given these members:
      | member | credits |
      | alice  | 100     |
      | bob    | 0       |
      | carol  | 0       |
      | dave   | 0       |
    And alice has launched the job "Logo design" with a reward of 30 credits
    And bob has applied to the job "Logo design" with the pitch "Bob's secret plan"
    And carol has applied to the job "Logo design" with the pitch "Carol's secret plan"

  Scenario: A participant sees only their own application
    When bob looks at the job "Logo design"
    Then they see the job "Logo design" offering 30 credits
    And they see their own live application with the pitch "Bob's secret plan"
    And they do not see the pitch "Carol's secret plan"

  Scenario: A member who did not apply sees the job but no application
    When dave looks at the job "Logo design"
    Then they see the job "Logo design" offering 30 credits
    And they see no application
    And they do not see the pitch "Bob's secret plan"
    And they do not see the pitch "Carol's secret plan"

  Scenario: The owner sees every application and its pitch
    Given bob has withdrawn from the job "Logo design"
    When alice looks at every application to the job "Logo design"
    Then they see these applications:
      | member | pitch               | status    |
      | bob    | Bob's secret plan   | withdrawn |
      | carol  | Carol's secret plan | live      |

  Scenario: An applicant cannot see every application
    When bob looks at every application to the job "Logo design"
    Then it is rejected with "not_job_owner"
    And nothing was recorded

  Scenario: An applicant cannot read a job's history, which holds every pitch
    When carol reads the history of the job "Logo design"
    Then it is rejected with "not_job_owner"
    And nothing was recorded

  Scenario: A visitor sees a job's public details, but no application
    When a visitor looks at the job "Logo design"
    Then they see the job "Logo design" offering 30 credits
    And they see no application
    And they do not see the pitch "Bob's secret plan"
    And they do not see the pitch "Carol's secret plan"
    And nothing was recorded

  Scenario: A visitor cannot read every application
    When a visitor looks at every application to the job "Logo design"
    Then it is rejected with "unauthorized"
    And nothing was recorded

  Scenario: A member sees their own wallet
    When alice looks at alice's wallet
    Then they see a balance of 70 credits

  Scenario: A member cannot see another member's wallet
    When bob looks at alice's wallet
    Then it is rejected with "not_your_wallet"
    And nothing was recorded
