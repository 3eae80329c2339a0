Feature: Accepting an applicant
  The owner of an open job accepts one live application; the job is then in progress and
  takes no more applications.

  Background:
    Given these members:
      | member | credits |
      | alice  | 100     |
      | bob    | 0       |
      | carol  | 0       |
    And alice has launched the job "Logo design" with a reward of 30 credits

  Scenario: The owner accepts an applicant
    Given bob has applied to the job "Logo design"
    And carol has applied to the job "Logo design"
    When alice accepts bob for the job "Logo design"
    Then it succeeds
    And the job "Logo design" is in progress
    And bob is the participant of the job "Logo design"
    And bob's application to the job "Logo design" is accepted
    And carol's application to the job "Logo design" is not selected
    And alice has 70 credits and 30 in escrow

  Scenario: Only the owner accepts
    Given bob has applied to the job "Logo design"
    When carol accepts bob for the job "Logo design"
    Then it is rejected with "not_job_owner"
    And nothing was recorded
    And the job "Logo design" is open
    And the job "Logo design" has no participant

  Scenario: Only a member who applied can be accepted
    When alice accepts bob for the job "Logo design"
    Then it is rejected with "no_live_application"
    And nothing was recorded
    And the job "Logo design" is open

  Scenario: A withdrawn application cannot be accepted
    Given bob has applied to the job "Logo design"
    And bob has withdrawn from the job "Logo design"
    When alice accepts bob for the job "Logo design"
    Then it is rejected with "no_live_application"
    And nothing was recorded
    And the job "Logo design" has no participant

  Scenario: A job has one participant
    Given bob has applied to the job "Logo design"
    And carol has applied to the job "Logo design"
    And alice has accepted bob for the job "Logo design"
    When alice accepts carol for the job "Logo design"
    Then it is rejected with "job_not_open"
    And nothing was recorded
    And bob is the participant of the job "Logo design"

  Scenario: Nobody accepts anyone for a job that was never launched
    Given no job called "Ghost work" was ever launched
    When alice accepts bob for the job "Ghost work"
    Then it is rejected with "unknown_job"
    And nothing was recorded
