//! The secrets a function reads at cold start: on AWS the Secrets Manager secrets it is granted
//! (`resources::SECRETS`, one per purpose), locally the environment. An adapter: it fetches and
//! looks up, it decides nothing.

use crate::resources::{FunctionDef, SecretDef};

/// Where a function's secrets come from: on AWS each secret it is granted, named by its
/// [`SecretDef::id_env`] variable and read once per cold start (so no secret sits in the
/// function's configuration); locally, with those variables unset, the environment. Only the
/// keys of the granted secrets are ever looked up, wherever they come from.
#[derive(Debug, Default)]
pub struct SecretSource {
    ids: Vec<String>,
    scope: Vec<&'static str>,
    values: std::collections::HashMap<String, String>,
}

impl SecretSource {
    /// Everything `function` is granted: each of its secrets whose id variable is set is read;
    /// the keys of the others come from the environment.
    pub async fn for_function(
        sdk: &aws_config::SdkConfig,
        function: &FunctionDef,
    ) -> Result<SecretSource, String> {
        SecretSource::for_function_with(sdk, function, |var| std::env::var(var).ok()).await
    }

    /// [`SecretSource::for_function`] with the secrets' ids looked up through `ids` (a test's
    /// own, rather than the process environment).
    pub async fn for_function_with(
        sdk: &aws_config::SdkConfig,
        function: &FunctionDef,
        ids: impl Fn(&str) -> Option<String>,
    ) -> Result<SecretSource, String> {
        let mut source = SecretSource {
            scope: function.secret_keys(),
            ..SecretSource::default()
        };
        // At most four (the dispatcher's), read at once so the cold start waits for one round trip.
        let mut reads = Vec::new();
        for def in function.secrets() {
            let Some(id) = ids(&def.id_env()).filter(|v| !v.trim().is_empty()) else {
                continue;
            };
            let sdk = sdk.clone();
            let read_id = id.clone();
            let read = tokio::spawn(async move { SecretSource::fetch(&sdk, &read_id, def).await });
            reads.push((id, read));
        }
        for (id, read) in reads {
            let values = read
                .await
                .map_err(|e| format!("reading secret {id}: {e}"))??;
            source.values.extend(values);
            source.ids.push(id);
        }
        Ok(source)
    }

    /// Reads the secret `id` (name or ARN), which must hold only `def`'s keys. A secret that does
    /// not exist reads as empty (a purpose this installation does not use need not be created);
    /// a key it needs is then reported missing by the config. The error names the secret and says
    /// what is wrong, never what it holds.
    pub async fn fetch(
        sdk: &aws_config::SdkConfig,
        id: &str,
        def: &SecretDef,
    ) -> Result<std::collections::HashMap<String, String>, String> {
        let out = match aws_sdk_secretsmanager::Client::new(sdk)
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok(Default::default())
            }
            Err(e) => {
                return Err(format!(
                    "cannot read secret {id}: {}",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
                ))
            }
        };
        let text = out
            .secret_string()
            .ok_or_else(|| format!("secret {id} has no string value (store a JSON object)"))?;
        parse(id, text, def)
    }

    /// The value of `key` if the function may read it: from its secrets, else the environment.
    pub fn get(&self, key: &str) -> Option<String> {
        if !self.scope.contains(&key) {
            return None;
        }
        self.values
            .get(key)
            .cloned()
            .or_else(|| std::env::var(key).ok())
    }

    /// The keys the function may read.
    pub fn scope(&self) -> &[&'static str] {
        &self.scope
    }

    /// Where values are looked up, for error messages.
    pub fn describe(&self) -> String {
        if self.ids.is_empty() {
            "looked up in the environment; no OTKLIK_SECRET_ID_* is set".to_string()
        } else {
            format!(
                "looked up in secret {}, then the environment",
                self.ids.join(", ")
            )
        }
    }
}

/// A secret's JSON object of `OTKLIK_*` keys. A key of another purpose is refused: copying the
/// one old secret into every new one would hand each function every key again.
pub fn parse(
    id: &str,
    text: &str,
    def: &SecretDef,
) -> Result<std::collections::HashMap<String, String>, String> {
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
        if !def.keys.contains(&k.as_str()) {
            let home = crate::resources::secret_of(k)
                .map(|s| format!("it belongs in the secret …/{}", s.suffix))
                .unwrap_or_else(|| "no function reads it".to_string());
            return Err(format!(
                "secret {id} holds {k}, which is not one of its keys ({}): {home} (docs/deploy.md)",
                def.keys.join(", ")
            ));
        }
        let v = v
            .as_str()
            .ok_or_else(|| format!("secret {id}: the value of {k} must be a string"))?;
        values.insert(k.clone(), v.to_string());
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{CRM_SECRET, MESSAGING_SECRET};

    #[test]
    fn a_secret_holds_only_its_own_keys() {
        let ok = parse("otklik/crm", r#"{"OTKLIK_CRM_API_KEY": "k"}"#, &CRM_SECRET).unwrap();
        assert_eq!(ok["OTKLIK_CRM_API_KEY"], "k");
        // The whole old secret copied into the new one: refused, naming where the key belongs and
        // never its value.
        let e = parse(
            "otklik/crm",
            r#"{"OTKLIK_CRM_API_KEY": "k", "OTKLIK_LINK_SECRET": "hush-hush"}"#,
            &CRM_SECRET,
        )
        .unwrap_err();
        assert!(
            e.contains("OTKLIK_LINK_SECRET") && e.contains("…/links"),
            "{e}"
        );
        assert!(!e.contains("hush-hush"), "{e}");
        assert!(parse("m", "[]", &MESSAGING_SECRET).is_err());
        assert!(parse("m", r#"{"OTKLIK_MAX_TOKEN": 5}"#, &MESSAGING_SECRET).is_err());
    }

    #[test]
    fn only_the_granted_keys_are_looked_up() {
        let f = crate::resources::function("kpi-report").unwrap();
        let mut s = SecretSource {
            scope: f.secret_keys(),
            ..SecretSource::default()
        };
        s.values.insert("OTKLIK_REPORT_TOKEN".into(), "t".into());
        s.values.insert("OTKLIK_CRM_API_KEY".into(), "k".into());
        assert_eq!(s.get("OTKLIK_REPORT_TOKEN").as_deref(), Some("t"));
        assert_eq!(s.get("OTKLIK_CRM_API_KEY"), None);
    }
}
