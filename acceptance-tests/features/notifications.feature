Feature: Being told what concerns you
  Members are told what concerns them, in an inbox of their own: the owner of a job when
  someone applies; an applicant when they are accepted, and when the job they applied to is
  cancelled or goes to someone else; the participant when a job completes and pays; a member
  when credits are granted. A refused command tells nobody. Reading a notification marks it
  read; each member sees only their own.

  Background:
    Given these members:
      | member | credits |
      | alice  | 100     |
      | bob    | 0       |
      | carol  | 0       |
    And alice has launched the job "Logo design" with a reward of 30 credits

  Scenario: alice is told that bob applied to Logo design
    When bob applies to the job "Logo design" with the pitch "I draw logos"
    Then it succeeds
    And alice is told that bob applied to the job "Logo design"
    And alice has 2 unread notifications
    And bob has no notifications

  Scenario: bob is told he was accepted, carol that the job went to someone else
    Given bob has applied to the job "Logo design"
    And carol has applied to the job "Logo design"
    When alice accepts bob for the job "Logo design"
    Then bob is told that he was accepted for the job "Logo design"
    And carol is told that the job "Logo design" went to someone else
    And bob has 1 notification

  Scenario: Applicants are told why the job was cancelled
    Given bob has applied to the job "Logo design"
    When alice cancels the job "Logo design" because "The brief changed"
    Then bob is told that the job "Logo design" was cancelled because "The brief changed"
    And carol is told nothing about the job "Logo design"

  Scenario: The participant is told what they were paid
    Given bob has applied to the job "Logo design"
    And alice has accepted bob for the job "Logo design"
    When alice completes the job "Logo design"
    Then bob is told that he was paid 30 credits for the job "Logo design"

  Scenario: A member is told of a grant
    When the admin grants 25 credits to carol
    Then carol is told that she was granted 25 credits
    And carol has 1 unread notification

  Scenario: A refused launch tells nobody
    When bob launches the job "Too dear" with a reward of 50 credits
    Then it is rejected with "insufficient_credits"
    And bob has no notifications
    And alice has 1 notification

  Scenario: A refused application tells nobody
    When alice applies to the job "Logo design" with the pitch "Me, myself"
    Then it is rejected with "own_job"
    And alice is told nothing about the job "Logo design"

  Scenario: Reading a notification marks it read
    Given bob has applied to the job "Logo design"
    And carol has applied to the job "Logo design"
    When alice reads the notification that bob applied to the job "Logo design"
    Then it succeeds
    And alice has 2 unread notifications
    And alice has 3 notifications
    When alice marks every notification read
    Then alice has no unread notifications

  Scenario: A member sees only their own notifications
    Given bob has applied to the job "Logo design"
    When carol marks alice's newest notification read
    Then it is rejected with "no_such_notification"
    And alice has 2 unread notifications

  Scenario: Admins have no inbox
    When the admin looks at their notifications
    Then it is rejected with "members_only"
