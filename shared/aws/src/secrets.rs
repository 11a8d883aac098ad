//! The installation's secret as a function reads it at cold start: one Secrets Manager secret on
//! AWS, the environment locally. An adapter: it fetches and looks up, it decides nothing.

/// Names the Secrets Manager secret (name or ARN) holding the installation's secrets: a JSON object
/// whose keys are the `OTKLIK_*` variable names. Set by the SAM template; unset locally.
pub const ENV_SECRETS_ID: &str = "OTKLIK_SECRETS_ID";

/// Where a function's secrets come from: on AWS the one Secrets Manager secret named by
/// [`ENV_SECRETS_ID`], read once per cold start (so no secret sits in the function's
/// configuration); locally the environment. A key missing from the secret falls back to the
/// environment.
#[derive(Debug, Default)]
pub struct SecretSource {
    id: Option<String>,
    values: std::collections::HashMap<String, String>,
}

impl SecretSource {
    /// The secret named by `OTKLIK_SECRETS_ID`, if set; otherwise the environment alone.
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> Result<SecretSource, String> {
        match std::env::var(ENV_SECRETS_ID)
            .ok()
            .filter(|v| !v.trim().is_empty())
        {
            Some(id) => SecretSource::fetch(sdk, &id).await,
            None => Ok(SecretSource::default()),
        }
    }

    /// Reads the secret `id` (name or ARN). The error names the secret and says what is wrong,
    /// never what it holds.
    pub async fn fetch(sdk: &aws_config::SdkConfig, id: &str) -> Result<SecretSource, String> {
        let out = aws_sdk_secretsmanager::Client::new(sdk)
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "cannot read secret {id}: {}",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
                )
            })?;
        let text = out
            .secret_string()
            .ok_or_else(|| format!("secret {id} has no string value (store a JSON object)"))?;
        let json: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            format!(
                "secret {id} is not a JSON object of OTKLIK_* keys (line {}, column {})",
                e.line(),
                e.column()
            )
        })?;
        let obj = json
            .as_object()
            .ok_or_else(|| format!("secret {id} must be a JSON object of OTKLIK_* keys"))?;
        let mut values = std::collections::HashMap::new();
        for (k, v) in obj {
            let v = v
                .as_str()
                .ok_or_else(|| format!("secret {id}: the value of {k} must be a string"))?;
            values.insert(k.clone(), v.to_string());
        }
        Ok(SecretSource {
            id: Some(id.to_string()),
            values,
        })
    }

    /// The value of `key`: from the secret, else from the environment.
    pub fn get(&self, key: &str) -> Option<String> {
        self.values
            .get(key)
            .cloned()
            .or_else(|| std::env::var(key).ok())
    }

    /// Where values are looked up, for error messages.
    pub fn describe(&self) -> String {
        match &self.id {
            Some(id) => format!("looked up in secret {id}, then the environment"),
            None => "looked up in the environment; OTKLIK_SECRETS_ID is not set".to_string(),
        }
    }
}
