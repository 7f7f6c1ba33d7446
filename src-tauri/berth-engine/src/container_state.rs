//! A container's state and health as Docker reports them: typed, and printed in Docker's words.

use std::fmt;

use bollard::models::{ContainerStateStatusEnum, HealthStatusEnum};
use serde::Serialize;
use ts_rs::TS;

/// A container's state, in Docker's words (`docker compose ps` prints them as they are).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl ContainerState {
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerState::Created => "created",
            ContainerState::Running => "running",
            ContainerState::Paused => "paused",
            ContainerState::Restarting => "restarting",
            ContainerState::Removing => "removing",
            ContainerState::Exited => "exited",
            ContainerState::Dead => "dead",
        }
    }

    /// From an inspect answer. The engine always reports one; without it the container reads
    /// as created (not started), which claims nothing.
    pub fn from_docker(status: Option<ContainerStateStatusEnum>) -> ContainerState {
        match status {
            // Engines newer than the API Berth speaks may say a container is stopping: its
            // process still runs until it exits.
            Some(ContainerStateStatusEnum::RUNNING | ContainerStateStatusEnum::STOPPING) => {
                ContainerState::Running
            }
            Some(ContainerStateStatusEnum::PAUSED) => ContainerState::Paused,
            Some(ContainerStateStatusEnum::RESTARTING) => ContainerState::Restarting,
            Some(ContainerStateStatusEnum::REMOVING) => ContainerState::Removing,
            Some(ContainerStateStatusEnum::EXITED) => ContainerState::Exited,
            Some(ContainerStateStatusEnum::DEAD) => ContainerState::Dead,
            Some(ContainerStateStatusEnum::CREATED | ContainerStateStatusEnum::EMPTY) | None => {
                ContainerState::Created
            }
        }
    }

    /// Its process is over: exited, or dead (a failed removal).
    pub fn ended(self) -> bool {
        matches!(self, ContainerState::Exited | ContainerState::Dead)
    }
}

impl fmt::Display for ContainerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A container's health check result; a container without a check has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Starting => "starting",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
        }
    }

    pub fn from_docker(status: Option<HealthStatusEnum>) -> Option<Health> {
        match status? {
            HealthStatusEnum::STARTING => Some(Health::Starting),
            HealthStatusEnum::HEALTHY => Some(Health::Healthy),
            HealthStatusEnum::UNHEALTHY => Some(Health::Unhealthy),
            HealthStatusEnum::EMPTY | HealthStatusEnum::NONE => None,
        }
    }

    /// From Docker's word, as a `health_status: healthy` event says it.
    pub fn parse(word: &str) -> Option<Health> {
        [Health::Starting, Health::Healthy, Health::Unhealthy]
            .into_iter()
            .find(|h| h.as_str() == word)
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
