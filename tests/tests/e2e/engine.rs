//! The test bed's engine: a container from a local test image runs, its logs come back through
//! the same bollard client the engine uses, and it is removed.

use berth_tests::{engine, unique_project};
use bollard::container::LogOutput;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    WaitContainerOptions,
};
use futures_util::{StreamExt, TryStreamExt};

#[tokio::test]
async fn a_container_runs_and_its_stdout_and_stderr_come_back_apart() {
    let engine = engine().await;
    let docker = engine.docker();
    let name = unique_project("engine");

    let options = CreateContainerOptionsBuilder::default().name(&name).build();
    let config = ContainerCreateBody {
        image: Some("berth-test/busybox:1".into()),
        // The project label lets the test bed's set-up sweep it up if this test dies half-way.
        labels: Some([("com.docker.compose.project".to_owned(), name.clone())].into()),
        cmd: Some(vec![
            "sh".into(),
            "-c".into(),
            "echo hello from berth; echo to stderr >&2; exit 3".into(),
        ]),
        ..Default::default()
    };
    let created = docker
        .create_container(Some(options), config)
        .await
        .expect("create a container from the test image (built by tests/bed/images.sh)");
    docker
        .start_container(&created.id, None)
        .await
        .expect("start");
    // A non-zero exit surfaces as an error from wait; the exit code is what we check.
    let exit = docker
        .wait_container(&created.id, None::<WaitContainerOptions>)
        .next()
        .await
        .expect("a wait result");
    let code = match exit {
        Ok(response) => response.status_code,
        Err(bollard::errors::Error::DockerContainerWaitError { code, .. }) => code,
        Err(err) => panic!("waiting failed: {err}"),
    };

    let logs: Vec<LogOutput> = docker
        .logs(
            &created.id,
            Some(
                LogsOptionsBuilder::default()
                    .stdout(true)
                    .stderr(true)
                    .build(),
            ),
        )
        .try_collect()
        .await
        .expect("read the logs");
    docker
        .remove_container(
            &created.id,
            Some(RemoveContainerOptionsBuilder::default().force(true).build()),
        )
        .await
        .expect("remove");

    assert_eq!(code, 3);
    let stdout: Vec<String> = logs
        .iter()
        .filter_map(|l| match l {
            LogOutput::StdOut { message } => Some(String::from_utf8_lossy(message).into_owned()),
            _ => None,
        })
        .collect();
    let stderr: Vec<String> = logs
        .iter()
        .filter_map(|l| match l {
            LogOutput::StdErr { message } => Some(String::from_utf8_lossy(message).into_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(stdout, ["hello from berth\n"]);
    assert_eq!(stderr, ["to stderr\n"]);
    let gone = docker.inspect_container(&created.id, None).await;
    assert!(gone.is_err(), "the container is still there after removal");
}
