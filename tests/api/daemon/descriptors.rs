//! The real service with few file descriptors: idle sockets never starve a delivery.

use std::time::Instant;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_idle_sockets_never_starve_a_delivery_or_healthz_at_128_descriptors() {
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let admin_port = free_port();
    let extra = format!(
        "[[sources]]\nname = \"laundry\"\nkind = \"webhook\"\nsecret = \"{HOOK_SECRET}\"\n\
         objects = {{ \"room-a\" = {} }}\n\n[archive]\nenabled = false\n\n\
         [server]\nlisten = \"127.0.0.1:{port}\"\nadmin_listen = \"127.0.0.1:{admin_port}\"\n",
        sandbox::OBJECT_LAUNDRY
    );
    let config = sandbox_config(dir.path(), &sandbox, &extra);
    let log_path = dir.path().join("daemon.log");
    // The descriptor limit is set for the service alone, as systemd's LimitNOFILE= would.
    let _child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 128 && exec \"$0\" --config \"$1\" run")
        .arg(binary())
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stderr(std::fs::File::create(&log_path).unwrap())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let base = format!("http://127.0.0.1:{port}");
    let admin = format!("http://127.0.0.1:{admin_port}");
    assert!(became_ready(&admin).await, "never ready: {}", log());

    let mut idle = Vec::new();
    for _ in 0..300 {
        let connect = tokio::net::TcpStream::connect(("127.0.0.1", port));
        let stream = tokio::time::timeout(Duration::from_secs(3), connect)
            .await
            .unwrap_or_else(|_| panic!("the listener stopped accepting: {}", log()))
            .unwrap();
        idle.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    let body = webhook_body("evt-fd", "booking.upserted", "b-fd", 2);
    let status = tokio::time::timeout(Duration::from_secs(5), post_hook(&base, &body))
        .await
        .unwrap_or_else(|_| panic!("the delivery hung: {}", log()));
    assert_eq!(status, 202, "{}", log());
    let health = get(&format!("{base}/healthz")).await.map(|r| r.0);
    assert_eq!(health, Some(200), "{}", log());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    drop(idle);
}
