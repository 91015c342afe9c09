//! Schedules that fire together cost one pass: sources whose schedules fire at the same moment
//! share a pass, and those that fire while a pass runs wait for the next pass together instead
//! of queueing a pass each (a thousand feeds on one
//! `*/10` tick would otherwise be read one pass after another, and a changed stay would wait
//! behind all of them).

use std::sync::Arc;

use flexysync::daemon::app::App;
use flexysync::reconcile::feeds::code_secret;
use tokio_util::sync::CancellationToken;

use super::support::*;
use crate::helpers::PassParts;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_whose_schedules_fire_during_a_pass_share_the_next_one() {
    let mut world = World::start(Default::default(), "").await;
    let stays: Vec<Stay> = (0..2)
        .map(|i| Stay::new(i, first_arrival(), 24 * i, 20))
        .collect();
    world.feed.set_calendar(&stays);
    let mut names = vec!["cabin".to_owned()];
    names.extend(world.add_quiet_doors(301..306));
    let parts = PassParts::load(world.config_path()).await;
    let secret = code_secret(&parts.config, &parts.ledger).await.unwrap();
    let app = Arc::new(App::new(
        parts.config,
        parts.ledger.clone(),
        parts.client,
        parts.http,
        secret,
        CancellationToken::new(),
    ));

    // Six schedules fire at the same moment: one pass reads them all (not the first alone,
    // then the five others).
    let passes = futures::future::join_all(names.iter().map(|name| app.pass(Some(name)))).await;
    let ran: Vec<_> = passes.into_iter().flatten().collect();
    assert_eq!(ran.len(), 1, "{ran:#?}");
    let mut read: Vec<String> = ran[0].sources.iter().map(|s| s.name.clone()).collect();
    read.sort();
    names.sort();
    assert_eq!(read, names, "every source read exactly once");
    assert!(ran[0].converged, "{ran:#?}");

    // A source that fires while a pass runs waits for the next one, with the others that
    // fire meanwhile: a full pass holds the lock while five schedules fire.
    let (full, later) = tokio::join!(app.pass(None), async {
        tokio::task::yield_now().await;
        futures::future::join_all(names[1..].iter().map(|name| app.pass(Some(name)))).await
    });
    assert!(full.is_some());
    let later: Vec<_> = later.into_iter().flatten().collect();
    assert_eq!(later.len(), 1, "{later:#?}");
    assert_eq!(later[0].sources.len(), 5, "{:#?}", later[0].sources);
    world.assert_exactly_one_booking_per_stay(&stays);
    parts.ledger.close().await;
}
