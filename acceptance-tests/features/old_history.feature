Feature: Histories recorded by older versions still read
  Events are stored forever, each with the schema version of its type when it was recorded.
  Events recorded before a type gained a field read with that field's default: grants from
  before grant categories are "other" grants, applications from before estimates have none.

  Background:
    Given these members:
      | member | credits |
      | alice  | 100     |
      | bob    | 0       |
    And alice has launched the job "Logo design" with a reward of 30 credits

  Scenario: A grant recorded before grants had a category reads as an "other" grant
    Given an older Tally recorded that the admin granted 40 credits to bob for "welcome"
    Then bob has 40 credits
    And bob has been granted 40 credits in all
    And bob's latest grant is in the category other

  Scenario: An application recorded before estimates existed reads without one
    Given an older Tally recorded that bob applied to the job "Logo design" with the pitch "Old pitch"
    Then bob's application to the job "Logo design" is live
    And alice sees that bob gave no estimate for the job "Logo design"
    And the job "Logo design" has 1 live application
