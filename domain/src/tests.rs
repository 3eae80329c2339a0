//! Given events / when command / then events or rejection, for every rule, through the
//! domain's own routing (a command reads the streams it names and nothing else); and property
//! tests over random command sequences: the conservation law, and that what a viewer is
//! offered is what the decision accepts.

use crate::affordance;
use crate::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn h(s: &str) -> Handle {
    Handle::parse(s).unwrap()
}
fn j(s: &str) -> JobId {
    JobId::parse(s).unwrap()
}
fn c(n: u64) -> Credits {
    Credits::new(n)
}
fn reason(s: &str) -> Reason {
    Reason::parse(s).unwrap()
}
fn pitch(s: &str) -> Pitch {
    Pitch::parse(s).unwrap()
}

/// An event on some stream.
#[derive(Debug, Clone, PartialEq)]
enum Recorded {
    Member(Handle, MemberEvent),
    Job(JobId, JobEvent),
}

impl Recorded {
    fn of((stream, event): Change) -> Self {
        match event {
            Event::Member(e) => Recorded::Member(h(stream.key()), e),
            Event::Job(e) => Recorded::Job(j(stream.key()), e),
        }
    }
}

/// A tiny ledger: the states of every entity, advanced only by events. The test model of what
/// the application layer does around `decide`: load what the command reads (asking again until
/// the answer stops growing), decide, record.
#[derive(Default, Clone)]
struct Ledger {
    wallets: BTreeMap<Handle, Wallet>,
    jobs: BTreeMap<JobId, Job>,
}

/// A command, who issues it, and (for a launch) the id the service chose.
#[derive(Debug, Clone)]
struct Cmd {
    actor: Actor,
    command: Command,
    new_job: JobId,
}

impl Ledger {
    fn record(&mut self, e: &Recorded) {
        match e {
            Recorded::Member(who, ev) => {
                let w = self.wallets.remove(who).unwrap_or_default();
                self.wallets.insert(who.clone(), w.evolve(ev));
            }
            Recorded::Job(id, ev) => {
                let s = self.jobs.remove(id).unwrap_or_default();
                self.jobs.insert(id.clone(), s.evolve(ev));
            }
        }
    }

    fn state(&self, s: &StreamId) -> State {
        match s.kind() {
            EntityKind::Member => {
                State::Member(self.wallets.get(&h(s.key())).cloned().unwrap_or_default())
            }
            EntityKind::Job => State::Job(self.jobs.get(&j(s.key())).cloned().unwrap_or_default()),
        }
    }

    /// The states of `streams`, and only those.
    fn load(&self, streams: &[StreamId], into: &mut States) {
        for s in streams {
            into.insert(s.clone(), self.state(s));
        }
    }

    /// What `reads` names, loaded until it stops growing.
    fn read(&self, mut reads: impl FnMut(&States) -> Vec<StreamId>) -> (Vec<StreamId>, States) {
        let mut states = States::new();
        let mut streams: Vec<StreamId> = Vec::new();
        loop {
            let more: Vec<StreamId> = reads(&states)
                .into_iter()
                .filter(|s| !streams.contains(s))
                .collect();
            if more.is_empty() {
                return (streams, states);
            }
            self.load(&more, &mut states);
            streams.extend(more);
        }
    }

    fn decide(&self, cmd: &Cmd) -> Result<Vec<Recorded>, Rejection> {
        let cx = Context {
            actor: &cmd.actor,
            new_job: &cmd.new_job,
        };
        let (streams, states) = self.read(|known| cmd.command.reads(&cx, known));
        let changes = cmd.command.decide(&cx, &states)?;
        for (s, _) in &changes {
            assert!(
                streams.contains(s),
                "{s} is written but was not read (its version is unchecked)"
            );
        }
        Ok(changes.into_iter().map(Recorded::of).collect())
    }

    fn execute(&mut self, cmd: &Cmd) -> Result<Vec<Recorded>, Rejection> {
        let events = self.decide(cmd)?;
        for e in &events {
            self.record(e);
        }
        Ok(events)
    }

    /// What `viewer` is offered on `stream`, with the states the candidates read (and only
    /// those).
    fn offered(&self, stream: &StreamId, viewer: &Actor) -> Vec<Action> {
        let candidates = self.candidates(stream);
        let (_, mut states) = self.read(|known| affordance::reads(&candidates, viewer, known));
        self.load(std::slice::from_ref(stream), &mut states);
        affordance::offered(candidates, viewer, &states)
    }

    fn candidates(&self, stream: &StreamId) -> Vec<Action> {
        match self.state(stream) {
            State::Member(w) => w.candidates(&h(stream.key())),
            State::Job(job) => job.candidates(&j(stream.key())),
        }
    }
}

struct Given(Ledger);

fn given() -> Given {
    Given(Ledger::default())
}

impl Given {
    fn events(mut self, events: Vec<Recorded>) -> Self {
        for e in &events {
            self.0.record(e);
        }
        self
    }
    fn member(self, who: &str) -> Self {
        self.events(vec![Recorded::Member(
            h(who),
            MemberEvent::MemberRegistered {
                handle: h(who),
                display_name: DisplayName::parse(who).unwrap(),
            },
        )])
    }
    fn granted(self, who: &str, n: u64) -> Self {
        self.events(vec![Recorded::Member(
            h(who),
            MemberEvent::CreditsGranted {
                amount: c(n),
                reason: reason("test"),
                category: GrantCategory::Other,
            },
        )])
    }
    /// `owner` (registered, with `reward` credits) launched job `id`.
    fn launched(self, id: &str, owner: &str, reward: u64) -> Self {
        self.events(vec![
            Recorded::Job(j(id), launched(id, owner, reward)),
            Recorded::Member(
                h(owner),
                MemberEvent::CreditsEscrowed {
                    job: j(id),
                    amount: c(reward),
                },
            ),
        ])
    }
    fn applied(self, id: &str, who: &str) -> Self {
        self.events(vec![Recorded::Job(
            j(id),
            JobEvent::ApplicationSubmitted {
                participant: h(who),
                pitch: pitch("pick me"),
                proposed_days: None,
            },
        )])
    }
    fn accepted(self, id: &str, who: &str) -> Self {
        self.events(vec![Recorded::Job(
            j(id),
            JobEvent::ApplicantAccepted {
                participant: h(who),
            },
        )])
    }
    fn when(self, cmd: Cmd) -> Then {
        Then(self.0.decide(&cmd))
    }
    /// Who is told what when `cmd` is decided on these events (the policy reads the states
    /// the decision read).
    fn told(self, cmd: Cmd) -> Told {
        let cx = Context {
            actor: &cmd.actor,
            new_job: &cmd.new_job,
        };
        let (_, states) = self.0.read(|known| cmd.command.reads(&cx, known));
        Told(
            cmd.command
                .decide(&cx, &states)
                .map(|changes| notifications(&states, &changes)),
        )
    }
}

struct Told(Result<Vec<Notification>, Rejection>);

impl Told {
    /// The recipients and kinds, in order.
    #[track_caller]
    fn then(self, expected: &[(&str, NotificationKind)]) -> Vec<Notification> {
        let told = self.0.expect("the command is accepted");
        let got: Vec<(String, NotificationKind)> = told
            .iter()
            .map(|n| (n.recipient.to_string(), n.kind))
            .collect();
        let want: Vec<(String, NotificationKind)> = expected
            .iter()
            .map(|(h, k)| ((*h).to_owned(), *k))
            .collect();
        assert_eq!(got, want);
        told
    }
}

struct Then(Result<Vec<Recorded>, Rejection>);

impl Then {
    #[track_caller]
    fn then(self, expected: Vec<Recorded>) {
        assert_eq!(self.0, Ok(expected));
    }
    #[track_caller]
    fn then_rejects(self, code: &str) {
        match self.0 {
            Err(r) => assert_eq!(r.code(), code, "rejected, but with: {r}"),
            Ok(e) => panic!("expected rejection {code}, got events {e:?}"),
        }
    }
}

fn launched(id: &str, owner: &str, reward: u64) -> JobEvent {
    JobEvent::JobLaunched {
        job: j(id),
        owner: h(owner),
        title: Title::parse("Logo").unwrap(),
        description: Description::parse("").unwrap(),
        reward: c(reward),
    }
}

fn admin() -> Actor {
    Actor::admin("root")
}

fn by(actor: Actor, command: impl Into<Command>) -> Cmd {
    Cmd {
        actor,
        command: command.into(),
        new_job: j("unused"),
    }
}

fn register(who: &str) -> Cmd {
    by(
        admin(),
        RegisterMember {
            handle: h(who),
            display_name: DisplayName::parse("Someone").unwrap(),
        },
    )
}
fn grant(who: &str, n: u64) -> Cmd {
    by(
        admin(),
        GrantCredits {
            handle: h(who),
            amount: Amount::parse(i64::try_from(n).unwrap()).unwrap(),
            reason: reason("test"),
            category: GrantCategory::Other,
        },
    )
}
fn launch(id: &str, owner: &str, reward: u64) -> Cmd {
    Cmd {
        new_job: j(id),
        ..by(
            Actor::member(owner),
            LaunchJob {
                title: Title::parse("Logo").unwrap(),
                description: Description::parse("").unwrap(),
                reward: Reward::parse(i64::try_from(reward).unwrap()).unwrap(),
            },
        )
    }
}
fn apply(id: &str, who: &str) -> Cmd {
    by(
        Actor::member(who),
        Apply {
            job: j(id),
            pitch: pitch("pick me"),
            proposed_days: None,
        },
    )
}
fn withdraw(id: &str, who: &str) -> Cmd {
    by(Actor::member(who), WithdrawApplication { job: j(id) })
}
fn accept(id: &str, owner: &str, who: &str) -> Cmd {
    by(
        Actor::member(owner),
        AcceptApplicant {
            job: j(id),
            participant: h(who),
        },
    )
}
fn complete(id: &str, owner: &str) -> Cmd {
    by(Actor::member(owner), CompleteJob { job: j(id) })
}
fn edit(id: &str, who: &str, text: &str) -> Cmd {
    by(
        Actor::member(who),
        EditJobDescription {
            job: j(id),
            description: Description::parse(text).unwrap(),
        },
    )
}
fn cancel(id: &str, owner: &str) -> Cmd {
    by(
        Actor::member(owner),
        CancelJob {
            job: j(id),
            reason: reason("changed my mind"),
        },
    )
}

// ---- Member and wallet ----

#[test]
fn registering_a_free_handle_records_the_member() {
    given().when(register("alice")).then(vec![Recorded::Member(
        h("alice"),
        MemberEvent::MemberRegistered {
            handle: h("alice"),
            display_name: DisplayName::parse("Someone").unwrap(),
        },
    )]);
}

#[test]
fn registering_a_taken_handle_is_rejected() {
    given()
        .member("alice")
        .when(register("alice"))
        .then_rejects("handle_taken");
}

#[test]
fn granting_credits_to_a_member_records_the_grant() {
    given()
        .member("alice")
        .when(grant("alice", 100))
        .then(vec![Recorded::Member(
            h("alice"),
            MemberEvent::CreditsGranted {
                amount: c(100),
                reason: reason("test"),
                category: GrantCategory::Other,
            },
        )]);
}

#[test]
fn granting_credits_to_an_unknown_member_is_rejected() {
    given()
        .when(grant("bob", 100))
        .then_rejects("unknown_member");
}

#[test]
fn a_grant_that_would_overflow_the_balance_is_rejected() {
    let mut g = given().member("alice");
    g.0.wallets.get_mut(&h("alice")).unwrap().balance = c(u64::MAX);
    g.when(grant("alice", 1)).then_rejects("balance_limit");
}

// ---- Launch ----

#[test]
fn launching_a_job_escrows_the_reward_from_the_owner() {
    given()
        .member("alice")
        .granted("alice", 100)
        .when(launch("j1", "alice", 60))
        .then(vec![
            Recorded::Job(j("j1"), launched("j1", "alice", 60)),
            Recorded::Member(
                h("alice"),
                MemberEvent::CreditsEscrowed {
                    job: j("j1"),
                    amount: c(60),
                },
            ),
        ]);
}

#[test]
fn launching_a_job_with_the_whole_balance_is_allowed() {
    let mut l = given().member("alice").granted("alice", 50).0;
    l.execute(&launch("j1", "alice", 50)).unwrap();
    let w = &l.wallets[&h("alice")];
    assert_eq!((w.balance, w.escrowed()), (c(0), c(50)));
}

#[test]
fn launching_a_job_with_more_than_the_balance_is_rejected() {
    given()
        .member("alice")
        .granted("alice", 10)
        .when(launch("j1", "alice", 11))
        .then_rejects("insufficient_credits");
}

#[test]
fn launching_a_job_as_an_unregistered_member_is_rejected() {
    given()
        .when(launch("j1", "ghost", 1))
        .then_rejects("unknown_member");
}

#[test]
fn launching_a_job_with_an_id_in_use_is_rejected() {
    given()
        .member("alice")
        .granted("alice", 100)
        .launched("j1", "alice", 10)
        .when(launch("j1", "alice", 10))
        .then_rejects("job_exists");
}

// ---- Apply and withdraw ----

#[test]
fn a_member_applies_to_an_open_job() {
    given()
        .member("alice")
        .member("bob")
        .granted("alice", 10)
        .launched("j1", "alice", 10)
        .when(apply("j1", "bob"))
        .then(vec![Recorded::Job(
            j("j1"),
            JobEvent::ApplicationSubmitted {
                participant: h("bob"),
                pitch: pitch("pick me"),
                proposed_days: None,
            },
        )]);
}

#[test]
fn the_owner_cannot_apply_to_their_own_job() {
    given()
        .member("alice")
        .granted("alice", 10)
        .launched("j1", "alice", 10)
        .when(apply("j1", "alice"))
        .then_rejects("own_job");
}

#[test]
fn applying_twice_is_rejected() {
    given()
        .member("alice")
        .member("bob")
        .granted("alice", 10)
        .launched("j1", "alice", 10)
        .applied("j1", "bob")
        .when(apply("j1", "bob"))
        .then_rejects("already_applied");
}

#[test]
fn applying_to_an_unknown_job_is_rejected() {
    given()
        .member("bob")
        .when(apply("nope", "bob"))
        .then_rejects("unknown_job");
}

#[test]
fn applying_as_an_unregistered_member_is_rejected() {
    given()
        .member("alice")
        .granted("alice", 10)
        .launched("j1", "alice", 10)
        .when(apply("j1", "ghost"))
        .then_rejects("unknown_member");
}

#[test]
fn applying_to_a_job_in_progress_is_rejected() {
    given()
        .member("alice")
        .member("bob")
        .member("carol")
        .granted("alice", 10)
        .launched("j1", "alice", 10)
        .applied("j1", "bob")
        .accepted("j1", "bob")
        .when(apply("j1", "carol"))
        .then_rejects("job_not_open");
}

#[test]
fn an_applicant_withdraws_and_may_apply_again() {
    let base = given()
        .member("alice")
        .member("bob")
        .granted("alice", 10)
        .launched("j1", "alice", 10)
        .applied("j1", "bob");
    let mut l = base.0.clone();
    assert_eq!(
        l.execute(&withdraw("j1", "bob")).unwrap(),
        vec![Recorded::Job(
            j("j1"),
            JobEvent::ApplicationWithdrawn {
                participant: h("bob")
            }
        )]
    );
    assert!(l.execute(&apply("j1", "bob")).is_ok());
}

#[test]
fn withdrawing_without_a_live_application_is_rejected() {
    given()
        .member("alice")
        .member("bob")
        .granted("alice", 10)
        .launched("j1", "alice", 10)
        .when(withdraw("j1", "bob"))
        .then_rejects("no_live_application");
}

#[test]
fn withdrawing_an_accepted_application_is_rejected() {
    given()
        .member("alice")
        .member("bob")
        .granted("alice", 10)
        .launched("j1", "alice", 10)
        .applied("j1", "bob")
        .accepted("j1", "bob")
        .when(withdraw("j1", "bob"))
        .then_rejects("application_accepted");
}

#[test]
fn carols_application_is_not_selected_once_bob_is_accepted() {
    let l = given()
        .member("alice")
        .member("bob")
        .member("carol")
        .member("dave")
        .granted("alice", 10)
        .launched("j1", "alice", 10)
        .applied("j1", "bob")
        .applied("j1", "carol")
        .applied("j1", "dave")
        .0;
    let mut l = l;
    l.execute(&withdraw("j1", "dave")).unwrap();
    l.execute(&accept("j1", "alice", "bob")).unwrap();
    let State::Job(job) = l.state(&StreamId::job(&j("j1"))) else {
        panic!("a job")
    };
    let status = |who: &str| job.applications[&h(who)].status;
    assert_eq!(status("bob"), ApplicationStatus::Accepted);
    assert_eq!(status("carol"), ApplicationStatus::NotSelected);
    assert_eq!(
        status("dave"),
        ApplicationStatus::Withdrawn,
        "a withdrawal stays one"
    );
    // Not selected is not live: carol can neither withdraw nor apply again.
    let mut after = l.clone();
    assert_eq!(
        after.execute(&withdraw("j1", "carol")).unwrap_err().code(),
        "job_not_open"
    );
}

#[test]
fn live_applications_are_closed_when_the_job_is_cancelled() {
    let mut l = given()
        .member("alice")
        .member("bob")
        .granted("alice", 10)
        .launched("j1", "alice", 10)
        .applied("j1", "bob")
        .0;
    l.execute(&cancel("j1", "alice")).unwrap();
    let State::Job(job) = l.state(&StreamId::job(&j("j1"))) else {
        panic!("a job")
    };
    assert_eq!(
        job.applications[&h("bob")].status,
        ApplicationStatus::Closed
    );
    assert_eq!(
        l.execute(&withdraw("j1", "bob")).unwrap_err().code(),
        "job_not_open"
    );
}

#[test]
fn an_applicant_cannot_withdraw_from_a_completed_job() {
    let l = given()
        .member("alice")
        .member("bob")
        .member("carol")
        .granted("alice", 10)
        .launched("j1", "alice", 10)
        .applied("j1", "bob")
        .applied("j1", "carol")
        .accepted("j1", "bob")
        .0;
    let mut l = l;
    l.execute(&complete("j1", "alice")).unwrap();
    Given(l)
        .when(withdraw("j1", "carol"))
        .then_rejects("job_not_open");
}

#[test]
fn the_not_selected_are_offered_no_withdrawal() {
    let l = given()
        .member("alice")
        .member("bob")
        .member("carol")
        .granted("alice", 10)
        .launched("j1", "alice", 10)
        .applied("j1", "bob")
        .applied("j1", "carol")
        .accepted("j1", "bob")
        .0;
    let offered = l.offered(&StreamId::job(&j("j1")), &Actor::member("carol"));
    assert!(offered.is_empty(), "{offered:?}");
}

// ---- Accept ----

#[test]
fn the_owner_accepts_a_live_application_and_the_job_is_in_progress() {
    let mut l = given()
        .member("alice")
        .member("bob")
        .granted("alice", 10)
        .launched("j1", "alice", 10)
        .applied("j1", "bob")
        .0;
    let e = l.execute(&accept("j1", "alice", "bob")).unwrap();
    assert_eq!(
        e,
        vec![Recorded::Job(
            j("j1"),
            JobEvent::ApplicantAccepted {
                participant: h("bob")
            }
        )]
    );
    assert_eq!(l.jobs[&j("j1")].status, JobStatus::InProgress);
}

#[test]
fn accepting_on_a_job_you_do_not_own_is_rejected() {
    given()
        .member("alice")
        .member("bob")
        .granted("alice", 10)
        .launched("j1", "alice", 10)
        .applied("j1", "bob")
        .when(accept("j1", "bob", "bob"))
        .then_rejects("not_job_owner");
}

#[test]
fn accepting_someone_who_did_not_apply_is_rejected() {
    given()
        .member("alice")
        .granted("alice", 10)
        .launched("j1", "alice", 10)
        .when(accept("j1", "alice", "bob"))
        .then_rejects("no_live_application");
}

#[test]
fn accepting_twice_is_rejected() {
    given()
        .member("alice")
        .member("bob")
        .granted("alice", 10)
        .launched("j1", "alice", 10)
        .applied("j1", "bob")
        .accepted("j1", "bob")
        .when(accept("j1", "alice", "bob"))
        .then_rejects("job_not_open");
}

// ---- Complete ----

#[test]
fn completing_a_job_pays_the_participant_and_releases_the_escrow() {
    let g = given()
        .member("alice")
        .member("bob")
        .granted("alice", 10)
        .launched("j1", "alice", 10)
        .applied("j1", "bob")
        .accepted("j1", "bob");
    let mut l = g.0.clone();
    g.when(complete("j1", "alice")).then(vec![
        Recorded::Job(
            j("j1"),
            JobEvent::JobCompleted {
                participant: h("bob"),
                reward: c(10),
            },
        ),
        Recorded::Member(
            h("alice"),
            MemberEvent::EscrowReleased {
                job: j("j1"),
                amount: c(10),
            },
        ),
        Recorded::Member(
            h("bob"),
            MemberEvent::CreditsEarned {
                job: j("j1"),
                amount: c(10),
            },
        ),
    ]);
    l.execute(&complete("j1", "alice")).unwrap();
    assert_eq!(l.wallets[&h("bob")].balance, c(10));
    assert_eq!(l.wallets[&h("alice")].escrowed(), c(0));
    assert_eq!(l.jobs[&j("j1")].status, JobStatus::Completed);
}

#[test]
fn completing_an_open_job_is_rejected() {
    given()
        .member("alice")
        .granted("alice", 10)
        .launched("j1", "alice", 10)
        .when(complete("j1", "alice"))
        .then_rejects("job_not_in_progress");
}

#[test]
fn completing_a_job_you_do_not_own_is_rejected() {
    given()
        .member("alice")
        .member("bob")
        .granted("alice", 10)
        .launched("j1", "alice", 10)
        .applied("j1", "bob")
        .accepted("j1", "bob")
        .when(complete("j1", "bob"))
        .then_rejects("not_job_owner");
}

// ---- Cancel ----

#[test]
fn cancelling_an_open_job_refunds_the_owner() {
    let g = given()
        .member("alice")
        .granted("alice", 10)
        .launched("j1", "alice", 10);
    let mut l = g.0.clone();
    g.when(cancel("j1", "alice")).then(vec![
        Recorded::Job(
            j("j1"),
            JobEvent::JobCancelled {
                reason: reason("changed my mind"),
            },
        ),
        Recorded::Member(
            h("alice"),
            MemberEvent::CreditsRefunded {
                job: j("j1"),
                amount: c(10),
            },
        ),
    ]);
    l.execute(&cancel("j1", "alice")).unwrap();
    let w = &l.wallets[&h("alice")];
    assert_eq!(
        (w.balance, w.escrowed(), w.total_refunded),
        (c(10), c(0), c(10))
    );
}

#[test]
fn cancelling_a_job_in_progress_is_rejected() {
    given()
        .member("alice")
        .member("bob")
        .granted("alice", 10)
        .launched("j1", "alice", 10)
        .applied("j1", "bob")
        .accepted("j1", "bob")
        .when(cancel("j1", "alice"))
        .then_rejects("job_not_open");
}

#[test]
fn cancelling_a_job_you_do_not_own_is_rejected() {
    given()
        .member("alice")
        .member("bob")
        .granted("alice", 10)
        .launched("j1", "alice", 10)
        .when(cancel("j1", "bob"))
        .then_rejects("not_job_owner");
}

// ---- Edit the description ----

#[test]
fn the_owner_edits_an_open_jobs_description() {
    let g = given()
        .member("alice")
        .member("bob")
        .granted("alice", 10)
        .launched("j1", "alice", 10)
        .applied("j1", "bob");
    let mut l = g.0.clone();
    g.when(edit("j1", "alice", "Two colours,\nvector files."))
        .then(vec![Recorded::Job(
            j("j1"),
            JobEvent::JobDescriptionEdited {
                description: Description::parse("Two colours,\nvector files.").unwrap(),
            },
        )]);
    l.execute(&edit("j1", "alice", "Two colours,\nvector files."))
        .unwrap();
    let job = &l.jobs[&j("j1")];
    let d = job.details.as_ref().unwrap();
    assert_eq!(d.description.as_str(), "Two colours,\nvector files.");
    assert_eq!((job.status, d.reward), (JobStatus::Open, c(10)));
    // It may be emptied, as at launch.
    l.execute(&edit("j1", "alice", "")).unwrap();
}

#[test]
fn editing_a_description_is_for_the_owner_of_an_open_job() {
    let g = || {
        given()
            .member("alice")
            .member("bob")
            .granted("alice", 10)
            .launched("j1", "alice", 10)
    };
    g().when(edit("j1", "bob", "mine now"))
        .then_rejects("not_job_owner");
    g().when(Cmd {
        actor: admin(),
        ..edit("j1", "alice", "by an admin")
    })
    .then_rejects("members_only");
    g().when(Cmd {
        actor: Actor::Anonymous,
        ..edit("j1", "alice", "by nobody")
    })
    .then_rejects("unauthorized");
    g().applied("j1", "bob")
        .accepted("j1", "bob")
        .when(edit("j1", "alice", "too late"))
        .then_rejects("job_not_open");
    let mut cancelled = g().0;
    cancelled.execute(&cancel("j1", "alice")).unwrap();
    Given(cancelled)
        .when(edit("j1", "alice", "after the end"))
        .then_rejects("job_not_open");
}

#[test]
fn an_edit_that_changes_nothing_is_rejected() {
    // Launched with an empty description.
    given()
        .member("alice")
        .granted("alice", 10)
        .launched("j1", "alice", 10)
        .when(edit("j1", "alice", ""))
        .then_rejects("description_unchanged");
}

#[test]
fn a_description_follows_the_rules_of_launch() {
    let long = "x".repeat(5001);
    for bad in [long.as_str(), " leading", "\u{202e}gnp.exe", "\u{200b}"] {
        let e = Description::parse(bad).unwrap_err();
        assert_eq!(e.code, "invalid_description", "{bad:?}");
    }
    let fields = BTreeMap::from([
        ("job".to_owned(), Raw::from("j1")),
        ("description".to_owned(), Raw::from("x".repeat(5001))),
    ]);
    let e = Command::parse(CommandKind::EditJobDescription, &fields).unwrap_err();
    assert_eq!(
        (e.field.as_str(), e.code.as_str()),
        ("description", "invalid_description")
    );
}

#[test]
fn acting_on_an_unknown_job_is_rejected() {
    for cmd in [
        withdraw("nope", "bob"),
        accept("nope", "bob", "carol"),
        complete("nope", "bob"),
        edit("nope", "bob", "x"),
        cancel("nope", "bob"),
    ] {
        given().member("bob").when(cmd).then_rejects("unknown_job");
    }
}

#[test]
fn every_rejection_has_a_distinct_stable_code_a_message_and_survives_json() {
    let all = [
        Rejection::SignInFirst,
        Rejection::AdminOnly,
        Rejection::MembersOnly,
        Rejection::NotYourWallet,
        Rejection::NotJobOwner { owner: h("abc") },
        Rejection::UnknownMember { handle: h("abc") },
        Rejection::UnknownJob { job: j("x") },
        Rejection::HandleTaken { handle: h("abc") },
        Rejection::JobExists { job: j("x") },
        Rejection::InsufficientCredits {
            needed: c(2),
            available: c(1),
        },
        Rejection::BalanceLimit,
        Rejection::OwnJob,
        Rejection::AlreadyApplied {
            participant: h("abc"),
        },
        Rejection::JobNotOpen {
            job_status: JobStatus::Completed,
        },
        Rejection::JobNotInProgress {
            job_status: JobStatus::Open,
        },
        Rejection::NoLiveApplication {
            participant: h("abc"),
        },
        Rejection::ApplicationAccepted,
        Rejection::DescriptionUnchanged,
    ];
    let codes: std::collections::BTreeSet<_> = all.iter().map(Rejection::code).collect();
    assert_eq!(codes.len(), all.len());
    for r in &all {
        assert!(!r.to_string().is_empty());
        let v = serde_json::to_value(r).unwrap();
        assert_eq!(v["code"], r.code(), "the serialized code is the code");
        // Its details sit beside a problem document's own members: none may share a name.
        for reserved in ["type", "title", "status", "detail", "field", "message"] {
            assert!(v.get(reserved).is_none(), "{} uses {reserved}", r.code());
        }
        assert_eq!(&serde_json::from_value::<Rejection>(v).unwrap(), r);
    }
    assert_eq!(
        Rejection::NotJobOwner { owner: h("abc") }.kind(),
        RejectionKind::Forbidden
    );
    assert_eq!(
        Rejection::UnknownJob { job: j("x") }.kind(),
        RejectionKind::NotFound
    );
    assert_eq!(
        Rejection::SignInFirst.kind(),
        RejectionKind::Unauthenticated
    );
}

#[test]
fn who_may_act_is_part_of_the_rules() {
    let g = || given().member("alice").granted("alice", 10).member("bob");
    g().when(Cmd {
        actor: Actor::member("bob"),
        ..register("mallory")
    })
    .then_rejects("admin_only");
    // A visitor registers as they sign up.
    g().when(Cmd {
        actor: Actor::Anonymous,
        ..register("carol")
    })
    .then(vec![Recorded::Member(
        h("carol"),
        MemberEvent::MemberRegistered {
            handle: h("carol"),
            display_name: DisplayName::parse("Someone").unwrap(),
        },
    )]);
    g().when(Cmd {
        actor: Actor::member("bob"),
        ..grant("alice", 5)
    })
    .then_rejects("admin_only");
    g().when(Cmd {
        actor: Actor::Anonymous,
        ..grant("alice", 5)
    })
    .then_rejects("unauthorized");
    g().when(Cmd {
        actor: admin(),
        ..launch("j1", "alice", 5)
    })
    .then_rejects("members_only");
    g().when(Cmd {
        actor: Actor::Anonymous,
        ..launch("j1", "alice", 5)
    })
    .then_rejects("unauthorized");
    g().launched("j1", "alice", 5)
        .when(Cmd {
            actor: admin(),
            ..apply("j1", "bob")
        })
        .then_rejects("members_only");
}

#[test]
fn the_owner_is_offered_what_the_job_allows_and_others_what_they_may_do() {
    let l = given()
        .member("alice")
        .member("bob")
        .member("carol")
        .granted("alice", 10)
        .launched("j1", "alice", 10)
        .applied("j1", "bob")
        .0;
    let job = StreamId::job(&j("j1"));
    let kinds = |who: Actor| -> Vec<String> {
        l.offered(&job, &who)
            .iter()
            .map(|a| a.label.clone())
            .collect()
    };
    assert_eq!(
        kinds(Actor::member("alice")),
        ["Accept @bob", "Save the description", "Cancel the job"]
    );
    assert_eq!(kinds(Actor::member("bob")), ["Withdraw my application"]);
    assert_eq!(kinds(Actor::member("carol")), ["Apply"]);
    assert!(kinds(admin()).is_empty());
    assert!(kinds(Actor::Anonymous).is_empty());
    let wallet = StreamId::member(&h("alice"));
    let w = |who: Actor| -> Vec<CommandKind> {
        l.offered(&wallet, &who).iter().map(Action::kind).collect()
    };
    assert_eq!(
        w(admin()),
        [CommandKind::GrantCredits, CommandKind::ForgetMember]
    );
    assert_eq!(
        w(Actor::member("alice")),
        [CommandKind::ForgetMember],
        "alice has no credits left to launch with, and may ask to be forgotten"
    );
    assert!(
        w(Actor::member("bob")).is_empty(),
        "nobody forgets someone else"
    );
    let apply = &l.offered(&job, &Actor::member("carol"))[0];
    assert_eq!(apply.given(), vec![("job".to_owned(), Raw::from("j1"))]);
    assert_eq!(
        apply.ask.iter().map(|a| a.field).collect::<Vec<_>>(),
        ["pitch", "proposed_days"]
    );
    // The edit form starts with the current description.
    let mut edited = l.clone();
    edited
        .execute(&edit("j1", "alice", "Round, in blue."))
        .unwrap();
    let offer = edited.offered(&job, &Actor::member("alice"));
    let edit = offer
        .iter()
        .find(|a| a.kind() == CommandKind::EditJobDescription)
        .unwrap();
    assert_eq!(edit.ask[0].field, "description");
    assert_eq!(edit.ask[0].initial, Raw::from("Round, in blue."));
}

#[test]
fn events_round_trip_through_json_with_their_type_names() {
    let e = MemberEvent::CreditsGranted {
        amount: c(5),
        reason: reason("hi"),
        category: GrantCategory::Other,
    };
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v["type"], "CreditsGranted");
    assert_eq!(v["type"], e.event_type());
    assert_eq!(serde_json::from_value::<MemberEvent>(v).unwrap(), e);
    let je = launched("j1", "alice", 3);
    let v = serde_json::to_value(&je).unwrap();
    assert_eq!(v["type"], je.event_type());
}

// ---- Property: conservation and no overdraft, over random command sequences ----

const MEMBERS: [&str; 4] = ["alice", "bob", "carol", "dave"];
const JOBS: [&str; 3] = ["j1", "j2", "j3"];

fn arb_cmd() -> impl Strategy<Value = Cmd> {
    let m = || proptest::sample::select(&MEMBERS[..]);
    let jb = || proptest::sample::select(&JOBS[..]);
    let anyone = || {
        prop_oneof![
            Just(admin()),
            Just(Actor::Anonymous),
            m().prop_map(Actor::member),
        ]
    };
    prop_oneof![
        (anyone(), m()).prop_map(|(a, w)| Cmd {
            actor: a,
            ..register(w)
        }),
        (anyone(), m(), 1u64..200).prop_map(|(a, w, n)| Cmd {
            actor: a,
            ..grant(w, n)
        }),
        m().prop_map(register),
        (m(), 1u64..200).prop_map(|(w, n)| grant(w, n)),
        (jb(), m(), 1u64..300).prop_map(|(id, w, n)| launch(id, w, n)),
        (jb(), m()).prop_map(|(id, w)| apply(id, w)),
        (jb(), m()).prop_map(|(id, w)| withdraw(id, w)),
        (jb(), m(), m()).prop_map(|(id, by, w)| accept(id, by, w)),
        (jb(), m()).prop_map(|(id, by)| complete(id, by)),
        (jb(), m()).prop_map(|(id, by)| cancel(id, by)),
        (jb(), m(), proptest::sample::select(&["", "v2", "v3"][..]))
            .prop_map(|(id, by, text)| edit(id, by, text)),
    ]
}

fn check_invariants(l: &Ledger) -> Result<(), TestCaseError> {
    let granted: u64 = l.wallets.values().map(|w| w.total_granted.get()).sum();
    let balances: u64 = l.wallets.values().map(|w| w.balance.get()).sum();
    let held: u64 = l
        .jobs
        .values()
        .filter(|s| s.status.holds_escrow())
        .map(|s| s.details.as_ref().unwrap().reward.get())
        .sum();
    prop_assert_eq!(granted, balances + held, "conservation law");
    let escrowed: u64 = l.wallets.values().map(|w| w.escrowed().get()).sum();
    prop_assert_eq!(escrowed, held, "wallet escrow matches open jobs");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    /// 1,500 random sequences of up to 60 commands: whatever is accepted, credits are conserved
    /// and (by construction of `Credits`, and checked by the decision) no balance goes negative.
    #[test]
    fn random_command_sequences_conserve_credits(cmds in proptest::collection::vec(arb_cmd(), 1..60)) {
        let mut l = Ledger::default();
        for cmd in &cmds {
            let before = l.clone();
            match l.execute(cmd) {
                Ok(_) => {}
                Err(_) => {
                    // A rejection records nothing.
                    prop_assert!(before.wallets == l.wallets && before.jobs == l.jobs);
                }
            }
            check_invariants(&l)?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// After random histories, every action offered to every viewer is accepted when taken,
    /// and reading only the streams the candidates name gives the same offer as reading all.
    #[test]
    fn what_is_offered_is_what_the_decision_accepts(cmds in proptest::collection::vec(arb_cmd(), 1..40)) {
        let mut l = Ledger::default();
        for cmd in &cmds {
            let _ = l.execute(cmd);
        }
        let viewers: Vec<Actor> = MEMBERS.iter().map(|m| Actor::member(m)).chain([admin(), Actor::Anonymous]).collect();
        let streams: Vec<StreamId> = l.wallets.keys().map(StreamId::member).chain(l.jobs.keys().map(StreamId::job)).collect();
        for s in &streams {
            for v in &viewers {
                let offered = l.offered(s, v);
                let mut all = States::new();
                for w in l.wallets.keys().map(StreamId::member).chain(l.jobs.keys().map(StreamId::job)) {
                    all.insert(w.clone(), l.state(&w));
                }
                let with_all = affordance::offered(l.candidates(s), v, &all);
                prop_assert_eq!(&offered, &with_all);
                for a in offered {
                    let mut after = l.clone();
                    let cmd = Cmd { actor: v.clone(), command: a.command.clone(), new_job: affordance::candidate_job() };
                    prop_assert!(after.execute(&cmd).is_ok(), "{} offered {:?} but it was refused", v, a.label);
                }
            }
        }
    }
}

// ---- Event evolutions (schema versions) ----

#[test]
fn a_grant_records_the_category_the_admin_chose() {
    let Cmd { actor, command, .. } = grant("alice", 100);
    let Command::GrantCredits(mut g) = command else {
        unreachable!()
    };
    g.category = GrantCategory::Promotion;
    given()
        .member("alice")
        .when(by(actor, g))
        .then(vec![Recorded::Member(
            h("alice"),
            MemberEvent::CreditsGranted {
                amount: c(100),
                reason: reason("test"),
                category: GrantCategory::Promotion,
            },
        )]);
}

#[test]
fn an_application_records_the_proposed_days_and_the_owner_sees_them() {
    let days = ProposedDays::parse(12).unwrap();
    let mut l = given()
        .member("alice")
        .member("bob")
        .granted("alice", 10)
        .launched("j1", "alice", 10)
        .0;
    let submitted = Recorded::Job(
        j("j1"),
        JobEvent::ApplicationSubmitted {
            participant: h("bob"),
            pitch: pitch("pick me"),
            proposed_days: Some(days),
        },
    );
    l.record(&submitted);
    let State::Job(job) = l.state(&StreamId::job(&j("j1"))) else {
        panic!("a job")
    };
    assert_eq!(job.applications[&h("bob")].proposed_days, Some(days));
}

#[test]
fn proposed_days_and_categories_follow_their_rules() {
    for ok in [1, 30, 365] {
        assert_eq!(ProposedDays::parse(ok).unwrap().days(), ok as u16);
    }
    for bad in [0, -1, 366, i64::MAX] {
        assert_eq!(
            ProposedDays::parse(bad).unwrap_err().code,
            "invalid_proposed_days"
        );
    }
    for c in GrantCategory::ALL {
        assert_eq!(GrantCategory::parse(c.as_str()).unwrap(), c);
    }
    for bad in ["bribe", "", " ", "Promotion"] {
        assert_eq!(
            GrantCategory::parse(bad).unwrap_err().code,
            "invalid_category",
            "{bad:?}"
        );
    }
    // Left out, a grant is `other`: clients written before categories still work.
    assert_eq!(
        <GrantCategory as Value>::parse("category", None).unwrap(),
        GrantCategory::Other
    );
    let Shape::OneOf(words) = GrantCategory::RULE.shape else {
        panic!("a list")
    };
    assert_eq!(words, GrantCategory::ALL.map(GrantCategory::as_str));
}

#[test]
fn each_event_type_declares_the_version_it_writes() {
    let version = |name: &str| {
        MemberEvent::TYPES
            .iter()
            .chain(JobEvent::TYPES)
            .find(|t| t.name == name)
            .unwrap()
            .version
    };
    assert_eq!(version("CreditsGranted"), 3);
    assert_eq!(version("ApplicationSubmitted"), 3);
    assert_eq!(version("MemberRegistered"), 2);
    assert_eq!(version("ApplicantAccepted"), 1);
    let e = MemberEvent::CreditsGranted {
        amount: c(1),
        reason: reason("x"),
        category: GrantCategory::Other,
    };
    assert_eq!(e.schema_version(), 3);
    assert_eq!(Event::from(e).schema_version(), 3);
    let nullable: Vec<_> = JobEvent::TYPES
        .iter()
        .flat_map(|t| t.fields)
        .filter(|f| f.nullable)
        .map(|f| f.name)
        .collect();
    assert_eq!(nullable, ["proposed_days"]);
}

// ---- The notification policy: given events, when a command, then who is told what ----

mod told {
    use super::*;
    use NotificationKind::*;

    fn open_job() -> Given {
        given()
            .member("alice")
            .granted("alice", 100)
            .member("bob")
            .member("carol")
            .launched("job1", "alice", 30)
    }

    #[test]
    fn the_owner_is_told_who_applied() {
        let told = open_job()
            .told(apply("job1", "bob"))
            .then(&[("alice", ApplicationReceived)]);
        assert_eq!(told[0].member, Some(h("bob")));
        assert_eq!(told[0].job.as_ref().unwrap().title.as_str(), "Logo");
        assert_eq!(told[0].summary(), "bob applied to \u{201c}Logo\u{201d}");
    }

    #[test]
    fn accepting_tells_the_accepted_and_the_other_live_applicants() {
        open_job()
            .applied("job1", "bob")
            .applied("job1", "carol")
            .told(accept("job1", "alice", "bob"))
            .then(&[
                ("bob", ApplicationAccepted),
                ("carol", ApplicationNotSelected),
            ]);
    }

    #[test]
    fn a_withdrawn_applicant_is_not_told_when_someone_else_is_accepted() {
        open_job()
            .applied("job1", "bob")
            .applied("job1", "carol")
            .events(vec![Recorded::Job(
                j("job1"),
                JobEvent::ApplicationWithdrawn {
                    participant: h("carol"),
                },
            )])
            .told(accept("job1", "alice", "bob"))
            .then(&[("bob", ApplicationAccepted)]);
    }

    #[test]
    fn cancelling_tells_every_live_applicant_why() {
        let told = open_job()
            .applied("job1", "bob")
            .applied("job1", "carol")
            .told(cancel("job1", "alice"))
            .then(&[("bob", JobCancelled), ("carol", JobCancelled)]);
        assert_eq!(told[0].reason, Some(reason("changed my mind")));
        assert_eq!(
            told[0].summary(),
            "\u{201c}Logo\u{201d} was cancelled: changed my mind"
        );
    }

    #[test]
    fn completing_tells_the_participant_what_they_were_paid() {
        let told = open_job()
            .applied("job1", "bob")
            .accepted("job1", "bob")
            .told(complete("job1", "alice"))
            .then(&[("bob", JobPaid)]);
        assert_eq!(told[0].amount, Some(c(30)));
        assert_eq!(
            told[0].summary(),
            "You were paid 30 cr for \u{201c}Logo\u{201d}"
        );
    }

    #[test]
    fn a_grant_tells_the_member() {
        let told = given()
            .member("bob")
            .told(grant("bob", 40))
            .then(&[("bob", CreditsGranted)]);
        assert_eq!(told[0].summary(), "You were granted 40 cr: test");
    }

    #[test]
    fn launching_registering_withdrawing_and_editing_tell_nobody() {
        open_job().told(launch("job2", "alice", 10)).then(&[]);
        given().told(register("dave")).then(&[]);
        open_job()
            .applied("job1", "bob")
            .told(withdraw("job1", "bob"))
            .then(&[]);
        open_job().told(edit("job1", "alice", "more")).then(&[]);
    }

    #[test]
    fn a_refused_command_tells_nobody() {
        // The policy only ever sees the events of an accepted decision.
        assert!(open_job().told(apply("job1", "alice")).0.is_err());
    }

    #[test]
    fn every_kind_reads_back_from_its_word() {
        for k in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(k.as_str()), Some(k));
            assert!(!k.doc().is_empty());
        }
        assert_eq!(NotificationKind::parse("nope"), None);
    }
}
