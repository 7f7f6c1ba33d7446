//! Finding and connecting to the Docker engine.

use bollard::Docker;
use serde::Serialize;
use ts_rs::TS;

use crate::error::{Endpoint, Error, Result};

/// The socket Docker listens on when DOCKER_HOST is not set.
const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// A connection to one Docker engine, at an API version both sides speak.
#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
    endpoint: Endpoint,
}

/// What the engine says about itself.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, TS)]
#[ts(export)]
pub struct EngineVersion {
    pub endpoint: String,
    pub version: String,
    pub api_version: String,
    pub os: String,
    pub arch: String,
}

impl Engine {
    /// Connects to the engine named by `DOCKER_HOST`, or the default socket.
    pub async fn connect() -> Result<Engine> {
        let host = std::env::var("DOCKER_HOST").unwrap_or_else(|_| DEFAULT_HOST.to_owned());
        Engine::connect_to(&host).await
    }

    /// Connects to `host` (`unix://…`, `tcp://…`, `http://…`) and negotiates the API version:
    /// bollard speaks a newer API than many engines in use (Debian 12's speaks 1.41).
    pub async fn connect_to(host: &str) -> Result<Engine> {
        let endpoint = Endpoint(host.to_owned());
        let unavailable = |cause| Error::Unavailable {
            endpoint: endpoint.clone(),
            cause,
        };
        let docker = Docker::connect_with_host(host).map_err(unavailable)?;
        docker.ping().await.map_err(unavailable)?;
        let docker = docker.negotiate_version().await.map_err(unavailable)?;
        tracing::debug!(%endpoint, api = %docker.client_version(), "connected to the Docker engine");
        Ok(Engine { docker, endpoint })
    }

    /// The bollard client, for the engine's own modules.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint.0
    }

    pub async fn version(&self) -> Result<EngineVersion> {
        let v = self
            .docker
            .version()
            .await
            .map_err(|cause| Error::Request {
                endpoint: self.endpoint.clone(),
                action: "report its version",
                cause,
            })?;
        Ok(EngineVersion {
            endpoint: self.endpoint.0.clone(),
            version: v.version.unwrap_or_default(),
            api_version: v.api_version.unwrap_or_default(),
            os: v.os.unwrap_or_default(),
            arch: v.arch.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_socket_is_reported_with_its_endpoint_and_a_way_out() {
        let host = "unix:///nonexistent/berth/docker.sock";
        let err = Engine::connect_to(host).await.unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
        assert!(message.contains(host), "{message}");
        assert!(message.contains("DOCKER_HOST"), "{message}");
    }
}
