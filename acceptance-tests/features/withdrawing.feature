Feature: Withdrawing an application
  An applicant may withdraw a live application while the job is open, until it is accepted.
  They may apply again while the job is open. When the owner accepts someone, every other live
  application is not selected; when the owner cancels the job, live applications are closed.
  Neither can be withdrawn.

  Background:
    Given these members:
      | member | credits |
      | alice  | 100     |
      | bob    | 0       |
      | carol  | 0       |
    And alice has launched the job "Logo design" with a reward of 30 credits

  Scenario: An applicant withdraws
    Given bob has applied to the job "Logo design"
    When bob withdraws from the job "Logo design"
    Then it succeeds
    And bob's application to the job "Logo design" is withdrawn
    And the job "Logo design" has 0 live applications

  Scenario: An applicant who withdrew may apply again
    Given bob has applied to the job "Logo design" with the pitch "First thoughts"
    And bob has withdrawn from the job "Logo design"
    When bob applies to the job "Logo design" with the pitch "Second thoughts"
    Then it succeeds
    And bob's application to the job "Logo design" is live

  Scenario: Nobody withdraws an application they never made
    When bob withdraws from the job "Logo design"
    Then it is rejected with "no_live_application"
    And nothing was recorded

  Scenario: An application is withdrawn only once
    Given bob has applied to the job "Logo design"
    And bob has withdrawn from the job "Logo design"
    When bob withdraws from the job "Logo design"
    Then it is rejected with "no_live_application"
    And nothing was recorded
    And the job "Logo design" records 1 ApplicationWithdrawn event

  Scenario: An accepted application can no longer be withdrawn
    Given bob has applied to the job "Logo design"
    And alice has accepted bob for the job "Logo design"
    When bob withdraws from the job "Logo design"
    Then it is rejected with "application_accepted"
    And nothing was recorded
    And bob's application to the job "Logo design" is accepted
    And the job "Logo design" is in progress

  Scenario: Nobody withdraws from a job that was never launched
    Given no job called "Ghost work" was ever launched
    When bob withdraws from the job "Ghost work"
    Then it is rejected with "unknown_job"
    And nothing was recorded

  Scenario: carol's application is not selected once bob is accepted
    Given bob has applied to the job "Logo design"
    And carol has applied to the job "Logo design"
    When alice accepts bob for the job "Logo design"
    Then it succeeds
    And carol's application to the job "Logo design" is not selected
    And bob's application to the job "Logo design" is accepted

  Scenario: An applicant cannot withdraw from a completed job
    Given bob has applied to the job "Logo design"
    And carol has applied to the job "Logo design"
    And alice has accepted bob for the job "Logo design"
    And alice has completed the job "Logo design"
    When carol withdraws from the job "Logo design"
    Then it is rejected with "job_not_open"
    And nothing was recorded
    And the job "Logo design" records 0 ApplicationWithdrawn events

  Scenario: Live applications are closed when the job is cancelled
    Given bob has applied to the job "Logo design"
    And alice has cancelled the job "Logo design"
    When bob withdraws from the job "Logo design"
    Then it is rejected with "job_not_open"
    And nothing was recorded
    And bob's application to the job "Logo design" is closed
