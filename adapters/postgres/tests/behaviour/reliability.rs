//! Commands racing on hot and cold entities, from one or several services.

use crate::common::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tally_contract::inputs;
use tally_ports::{Error, Receipt, Tally, TallyService};
use tally_postgres::testing::TestDb;
use tally_postgres::{PgOptions, PgStore};
use uuid::Uuid;

const MEMBERS: [&str; 5] = ["hotty", "amber", "basil", "cedar", "delta"];

#[derive(Default)]
struct Books {
    acked: Vec<(Uuid, usize)>,
    rejected: usize,
    conflicts: usize,
}

fn pick<T: Clone>(v: &[T]) -> Option<T> {
    (!v.is_empty()).then(|| v[fastrand::usize(..v.len())].clone())
}

/// One random command, mostly on the hot wallet ("hotty" owns most jobs and gets most
/// grants); the outcome goes into `books`.
async fn one_command(svc: &TallyService, jobs: &Mutex<Vec<String>>, books: &Mutex<Books>) {
    let owner = if fastrand::u8(..4) == 0 {
        pick(&MEMBERS).unwrap()
    } else {
        "hotty"
    };
    let someone = pick(&MEMBERS).unwrap();
    let job = pick(&jobs.lock().unwrap());
    let r: Result<Receipt, Error> = match (fastrand::u8(..6), job) {
        (1, _) => launch(svc, owner, "race", 1 + i64::from(fastrand::u8(..30))).await,
        (0, _) | (_, None) => grant(svc, owner, 1 + i64::from(fastrand::u8(..20))).await,
        (2, Some(j)) => {
            svc.execute(&member(someone), inputs::apply(&j, "pick me"))
                .await
        }
        (3, Some(j)) => {
            let v = svc.job_owner_view(&admin(), &j).await.expect("view");
            match v.applications.first() {
                Some(a) => {
                    let accept = inputs::accept(&j, &a.participant);
                    svc.execute(&member(&v.job.owner), accept).await
                }
                None => svc.execute(&member(someone), inputs::apply(&j, "me")).await,
            }
        }
        (4, Some(j)) => {
            let v = svc.job_owner_view(&admin(), &j).await.expect("view");
            svc.execute(&member(&v.job.owner), inputs::complete(&j))
                .await
        }
        (_, Some(j)) => {
            let v = svc.job_owner_view(&admin(), &j).await.expect("view");
            let cancel = inputs::cancel(&j, "changed my mind");
            svc.execute(&member(&v.job.owner), cancel).await
        }
    };
    let mut b = books.lock().unwrap();
    match r {
        Ok(r) => {
            if let Some(j) = r.launched_job() {
                jobs.lock().unwrap().push(j.to_owned());
            }
            b.acked.push((r.command_id, r.events.len()));
        }
        Err(Error::Rejected(_)) => b.rejected += 1,
        Err(Error::Conflict(_)) => b.conflicts += 1,
        Err(e) => panic!("unexpected failure: {e:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_commands_keep_every_balance_positive_and_credits_conserved() {
    let db = TestDb::create_with(PgOptions {
        pool_size: 24,
        ..PgOptions::default()
    })
    .await;
    // Two services on one database: two processes, each with its own pool and queues.
    let other = PgStore::connect(db.url(), PgOptions::default())
        .await
        .unwrap();
    let services = [Arc::new(db.store().service()), Arc::new(other.service())];
    for m in MEMBERS {
        register(&services[0], m, 50).await;
    }
    let jobs = Arc::new(Mutex::new(Vec::new()));
    let books = Arc::new(Mutex::new(Books::default()));
    let until = Instant::now() + Duration::from_secs(5);
    let mut tasks = Vec::new();
    for t in 0..16 {
        let (svc, jobs, books) = (services[t % 2].clone(), jobs.clone(), books.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < until {
                one_command(&svc, &jobs, &books).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let pool = db.store().pool();
    let b = std::mem::take(&mut *books.lock().unwrap());
    let per_command = events_per_command(pool).await;
    // Registrations and initial grants are not in `acked`: 2 per member.
    assert_eq!(per_command.len(), b.acked.len() + 2 * MEMBERS.len());
    for (id, n) in &b.acked {
        assert_eq!(per_command.get(id), Some(&(*n as i64)), "command {id}");
    }
    let (granted, balances, escrowed) = check_the_books(pool).await;
    let launched = check_launches_are_whole(pool).await;
    // The service agrees with the raw replay.
    let members = services[1].members(&admin()).await.unwrap();
    let balance: u64 = members.iter().map(|m| m.balance).sum();
    let held: u64 = members.iter().map(|m| m.escrowed).sum();
    assert_eq!((balance as i64, held as i64), (balances, escrowed));
    eprintln!(
        "{} commands acknowledged, {} rejected, {} conflicts; {launched} jobs; granted {granted}",
        b.acked.len(),
        b.rejected,
        b.conflicts
    );
    assert!(
        b.acked.len() > 200,
        "too few commands ran: {}",
        b.acked.len()
    );
    other.close().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_repeated_concurrently_by_two_processes_records_once() {
    let db = TestDb::create().await;
    let other = PgStore::connect(db.url(), PgOptions::default())
        .await
        .unwrap();
    let services = [Arc::new(db.store().service()), Arc::new(other.service())];
    register(&services[0], "alice", 100).await;
    let (grant_id, launch_id) = (Uuid::now_v7(), Uuid::now_v7());
    let mut tasks = Vec::new();
    for t in 0..16 {
        let svc = services[t % 2].clone();
        tasks.push(tokio::spawn(async move {
            if t % 4 < 2 {
                svc.execute(
                    &admin().with_command_id(grant_id),
                    inputs::grant("alice", 7, "once"),
                )
                .await
            } else {
                svc.execute(
                    &member("alice").with_command_id(launch_id),
                    inputs::launch("Once", 10),
                )
                .await
            }
        }));
    }
    let mut receipts: HashMap<Uuid, Vec<Receipt>> = HashMap::new();
    let mut job_exists = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(r) => receipts.entry(r.command_id).or_default().push(r),
            // The service checks a command id before it queues and decides: a duplicate
            // launch that decides after the first one committed is rejected by the domain
            // (the job exists) instead of getting the first receipt. Either way, it is
            // recorded once: that is this adapter's part.
            Err(Error::Rejected(r)) if r.code() == "job_exists" => job_exists += 1,
            Err(e) => panic!("a duplicate failed: {e:?}"),
        }
    }
    assert_eq!(
        receipts[&grant_id].len(),
        8,
        "every duplicate grant gets the first receipt"
    );
    assert_eq!(receipts[&launch_id].len() + job_exists, 8);
    for rs in receipts.values() {
        assert!(rs.windows(2).all(|w| w[0] == w[1]));
    }
    let per_command = events_per_command(db.store().pool()).await;
    assert_eq!(per_command.get(&grant_id), Some(&1));
    assert_eq!(per_command.get(&launch_id), Some(&2));
    let w = services[1].wallet(&admin(), "alice").await.unwrap();
    assert_eq!((w.balance, w.escrowed), (97, 10));
    check_the_books(db.store().pool()).await;
    other.close().await;
    db.cleanup().await;
}
