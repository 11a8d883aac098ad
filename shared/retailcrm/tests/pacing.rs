//! The pace as the server sees it: arrival instants recorded by the mock, checked per 1 s window.

mod common;

use std::time::{Duration, Instant};

use common::{max_per_second, order_json, Mock, Reply};
use otklik_retailcrm::RetailCrm;
use serde_json::json;
use tokio::task::JoinSet;

async fn order_server() -> Mock {
    Mock::always(Reply::ok(json!({"success":true,"order":order_json(1001)}))).await
}

/// Fires `n` concurrent `get_order`s on each client, round robin; returns the elapsed time.
async fn fire(clients: &[RetailCrm], n: usize) -> Duration {
    let t0 = Instant::now();
    let mut set = JoinSet::new();
    for i in 0..n {
        let crm = clients[i % clients.len()].clone();
        set.spawn(async move { crm.get_order("main-shop", 1001).await });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap().unwrap();
    }
    t0.elapsed()
}

fn arrivals(mock: &Mock) -> Vec<Instant> {
    mock.requests().into_iter().map(|r| r.at).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_concurrent_calls_never_exceed_ten_per_second() {
    let mock = order_server().await;
    let mut cfg = mock.config();
    cfg.rate_per_second = 10;
    let crm = RetailCrm::new(cfg).unwrap();

    let elapsed = fire(std::slice::from_ref(&crm), 60).await;

    let at = arrivals(&mock);
    assert_eq!(at.len(), 60);
    assert_eq!(crm.calls_made(), 60);
    assert!(
        max_per_second(&at) <= 10,
        "{} in one second",
        max_per_second(&at)
    );
    // Six batches of ten, five full windows apart.
    assert!(elapsed >= Duration::from_secs(5), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(9), "too slow: {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_with_the_same_key_share_one_pace() {
    let mock = order_server().await;
    let mut cfg = mock.config();
    cfg.rate_per_second = 10;
    let a = RetailCrm::new(cfg.clone()).unwrap();
    let b = RetailCrm::new(cfg).unwrap();

    let elapsed = fire(&[a.clone(), b.clone()], 30).await;

    let at = arrivals(&mock);
    assert_eq!(at.len(), 30);
    assert_eq!((a.calls_made(), b.calls_made()), (15, 15));
    assert!(
        max_per_second(&at) <= 10,
        "{} in one second",
        max_per_second(&at)
    );
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_keys_are_paced_independently() {
    let mock = order_server().await;
    let mut cfg_a = mock.config();
    cfg_a.rate_per_second = 10;
    let mut cfg_b = cfg_a.clone();
    cfg_b.api_key = common::unique_key();
    let a = RetailCrm::new(cfg_a.clone()).unwrap();
    let b = RetailCrm::new(cfg_b.clone()).unwrap();

    // Ten each fit in one window per key; sharing a pace would push ten of them a second later.
    let elapsed = fire(&[a, b], 20).await;

    let at = arrivals(&mock);
    assert_eq!(at.len(), 20);
    assert!(elapsed < Duration::from_millis(900), "{elapsed:?}");
    for key in [&cfg_a.api_key, &cfg_b.api_key] {
        let mine: Vec<Instant> = mock
            .requests()
            .into_iter()
            .filter(|r| r.api_key.as_ref() == Some(key))
            .map(|r| r.at)
            .collect();
        assert_eq!(mine.len(), 10);
    }
}
