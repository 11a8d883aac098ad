//! Reads `infra/template.yaml` the way the tests need it: CloudFormation's short tags (`!Sub`,
//! `!Ref`, `!GetAtt`) are kept, `${AWS::StackName}` reads as [`STACK`], and the dashboard and
//! alarms are turned into the list of metrics they name.
//!
//! The tests in `tests/` hold the template to `otklik_aws::resources` (one source of truth for
//! names, queues, routes, timeouts, concurrency and access) and to `otklik_metrics::ALL`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_yaml::Value;

/// What `${AWS::StackName}` reads as.
pub const STACK: &str = "STACK";

/// The template's path in the repository.
pub fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../template.yaml")
}

/// A resource: its logical id, type and properties.
#[derive(Debug, Clone)]
pub struct Resource {
    pub id: String,
    pub kind: String,
    pub props: Value,
    pub metadata: Value,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub doc: Value,
    pub resources: Vec<Resource>,
}

/// A metric a dashboard widget or an alarm names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MetricRef {
    pub namespace: String,
    pub name: String,
    /// Dimension name → value (`Stack` → [`STACK`]); a SEARCH names keys with empty values.
    pub dims: BTreeMap<String, String>,
    /// Where: the widget's title or the alarm's id.
    pub place: String,
}

impl MetricRef {
    /// The dimension names, sorted.
    pub fn dim_names(&self) -> Vec<String> {
        self.dims.keys().cloned().collect()
    }
}

impl Template {
    pub fn load() -> Template {
        let text = std::fs::read_to_string(path()).expect("infra/template.yaml");
        Template::parse(&text)
    }

    pub fn parse(text: &str) -> Template {
        let doc: Value = serde_yaml::from_str(text).expect("the template is YAML");
        let mut resources = Vec::new();
        if let Some(map) = doc.get("Resources").and_then(Value::as_mapping) {
            for (k, v) in map {
                resources.push(Resource {
                    id: k.as_str().unwrap_or_default().to_string(),
                    kind: v
                        .get("Type")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    props: v.get("Properties").cloned().unwrap_or(Value::Null),
                    metadata: v.get("Metadata").cloned().unwrap_or(Value::Null),
                });
            }
        }
        Template { doc, resources }
    }

    pub fn of_kind(&self, kind: &str) -> Vec<&Resource> {
        self.resources.iter().filter(|r| r.kind == kind).collect()
    }

    pub fn resource(&self, id: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.id == id)
    }

    /// Every metric the dashboard and the alarms name.
    pub fn metric_refs(&self) -> Vec<MetricRef> {
        let mut out = Vec::new();
        for d in self.of_kind("AWS::CloudWatch::Dashboard") {
            let body = text(&d.props["DashboardBody"]).expect("DashboardBody is a string");
            let body = body
                .replace("${AWS::StackName}", STACK)
                .replace("${AWS::Region}", "eu-central-1");
            let json: serde_json::Value =
                serde_json::from_str(&body).expect("the dashboard body is JSON");
            out.extend(dashboard_metrics(&json));
        }
        for a in self.of_kind("AWS::CloudWatch::Alarm") {
            if let Some(name) = a.props["MetricName"].as_str() {
                out.push(MetricRef {
                    namespace: text(&a.props["Namespace"]).unwrap_or_default(),
                    name: name.to_string(),
                    dims: alarm_dims(&a.props["Dimensions"]),
                    place: a.id.clone(),
                });
            }
            for m in a.props["Metrics"].as_sequence().into_iter().flatten() {
                let metric = &m["MetricStat"]["Metric"];
                if let Some(name) = metric["MetricName"].as_str() {
                    out.push(MetricRef {
                        namespace: text(&metric["Namespace"]).unwrap_or_default(),
                        name: name.to_string(),
                        dims: alarm_dims(&metric["Dimensions"]),
                        place: a.id.clone(),
                    });
                }
            }
        }
        out
    }
}

/// A scalar, or the string of a `!Sub`, with `${AWS::StackName}` read as [`STACK`].
pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.replace("${AWS::StackName}", STACK)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Tagged(t) if t.tag == "!Sub" => text(&t.value),
        _ => None,
    }
}

/// `!GetAtt X.Attr` (or `Fn::GetAtt: [X, Attr]`) → (X, Attr).
pub fn get_att(v: &Value) -> Option<(String, String)> {
    match v {
        Value::Tagged(t) if t.tag == "!GetAtt" => {
            let s = t.value.as_str()?;
            let (a, b) = s.split_once('.')?;
            Some((a.to_string(), b.to_string()))
        }
        Value::Mapping(m) => {
            let seq = m.get("Fn::GetAtt")?.as_sequence()?;
            Some((seq.first()?.as_str()?.into(), seq.get(1)?.as_str()?.into()))
        }
        _ => None,
    }
}

/// `!Ref X` → X.
pub fn reference(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(t) if t.tag == "!Ref" => t.value.as_str().map(String::from),
        Value::Mapping(m) => m.get("Ref")?.as_str().map(String::from),
        _ => None,
    }
}

/// A value or a list of values, as a list.
pub fn list(v: &Value) -> Vec<Value> {
    match v {
        Value::Sequence(s) => s.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

fn alarm_dims(v: &Value) -> BTreeMap<String, String> {
    let mut dims = BTreeMap::new();
    for d in list(v) {
        let name = d["Name"].as_str().unwrap_or_default().to_string();
        let value = match reference(&d["Value"]).as_deref() {
            Some("AWS::StackName") => STACK.to_string(),
            Some(other) => format!("Ref:{other}"),
            None => match get_att(&d["Value"]) {
                Some((res, att)) => format!("GetAtt:{res}.{att}"),
                None => text(&d["Value"]).unwrap_or_default(),
            },
        };
        dims.insert(name, value);
    }
    dims
}

/// The metrics of a dashboard body: plain metric rows, and the metric names and dimension keys
/// of `SEARCH('{Namespace,Dim,...} MetricName="X" ...')` expressions.
pub fn dashboard_metrics(body: &serde_json::Value) -> Vec<MetricRef> {
    let mut out = Vec::new();
    for w in body["widgets"].as_array().into_iter().flatten() {
        let place = w["properties"]["title"]
            .as_str()
            .unwrap_or("untitled")
            .to_string();
        for row in w["properties"]["metrics"].as_array().into_iter().flatten() {
            let Some(row) = row.as_array() else { continue };
            let strings: Vec<&str> = row.iter().filter_map(|v| v.as_str()).collect();
            if let [namespace, name, rest @ ..] = strings.as_slice() {
                assert!(
                    !rest.contains(&"..") && !rest.contains(&"."),
                    "{place}: write metric rows out in full (no '..' shorthand)"
                );
                assert!(
                    rest.len() % 2 == 0,
                    "{place}: {name} has a dimension without a value"
                );
                let dims = rest
                    .chunks(2)
                    .map(|kv| (kv[0].to_string(), kv[1].to_string()))
                    .collect();
                out.push(MetricRef {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                    dims,
                    place: place.clone(),
                });
            }
            for expr in row.iter().filter_map(|v| v["expression"].as_str()) {
                out.extend(search_metrics(expr, &place));
            }
        }
    }
    out
}

/// `SEARCH('{Otklik,Stack,Reason} MetricName="SurveysSkipped" ...', ...)` → the metric it means.
fn search_metrics(expr: &str, place: &str) -> Vec<MetricRef> {
    let Some(start) = expr.find("SEARCH(") else {
        return Vec::new();
    };
    let inner = &expr[start..];
    let schema = inner
        .find('{')
        .and_then(|a| inner[a + 1..].find('}').map(|b| &inner[a + 1..a + 1 + b]));
    let name = inner.find("MetricName=\"").and_then(|a| {
        let rest = &inner[a + "MetricName=\"".len()..];
        rest.find('"').map(|b| &rest[..b])
    });
    match (schema, name) {
        (Some(schema), Some(name)) => {
            let mut parts = schema.split(',').map(str::trim);
            let namespace = parts.next().unwrap_or_default().to_string();
            vec![MetricRef {
                namespace,
                name: name.to_string(),
                dims: parts.map(|d| (d.to_string(), String::new())).collect(),
                place: place.to_string(),
            }]
        }
        _ => panic!("{place}: a SEARCH must name its schema and its MetricName: {expr}"),
    }
}

/// The IAM resource of secret `suffix` as the template writes it: the ARN of
/// `<SecretsPrefix>/<suffix>` with the six characters Secrets Manager appends to every name.
pub fn secret_arn_pattern(suffix: &str) -> String {
    format!(
        "arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:${{SecretsPrefix}}/{suffix}-??????"
    )
}

/// Where the template disagrees with `resources::FUNCTIONS` about secrets: a function whose role
/// may read a secret it does not use (or misses one it reads), a grant not spelled as one
/// secret's ARN, a secret's name handed to the wrong function, any secret in the globals. Empty
/// when each function can read exactly the keys it uses.
pub fn secret_problems(t: &Template) -> Vec<String> {
    use otklik_aws::resources::{FUNCTIONS, SECRETS};
    use std::collections::BTreeSet;
    let mut problems = Vec::new();
    let globals = &t.doc["Globals"]["Function"]["Environment"]["Variables"];
    for (k, _) in globals.as_mapping().into_iter().flatten() {
        let k = k.as_str().unwrap_or_default();
        if k.starts_with("OTKLIK_SECRET") {
            problems.push(format!(
                "Globals: {k} would hand every function a secret; name it per function"
            ));
        }
    }
    if t.doc["Parameters"]["SecretsPrefix"].is_null() {
        problems.push("no SecretsPrefix parameter".into());
    }
    for def in FUNCTIONS {
        let want: BTreeSet<&str> = def.secrets().iter().map(|s| s.suffix).collect();
        let Some(f) = t
            .of_kind("AWS::Serverless::Function")
            .into_iter()
            .find(|r| r.props["CodeUri"].as_str() == Some(&format!("../functions/{}", def.name)))
        else {
            problems.push(format!("{}: no function in the template", def.name));
            continue;
        };
        // What its role may read.
        let mut granted = BTreeSet::new();
        let role = get_att(&f.props["Role"]).and_then(|(id, _)| t.resource(&id));
        let statements = role
            .map(|r| list(&r.props["Policies"]))
            .unwrap_or_default()
            .iter()
            .flat_map(|p| list(&p["PolicyDocument"]["Statement"]))
            .collect::<Vec<_>>();
        for s in statements {
            let actions: Vec<String> = list(&s["Action"])
                .iter()
                .filter_map(|a| a.as_str().map(String::from))
                .collect();
            let secret_actions: Vec<&String> = actions
                .iter()
                .filter(|a| a.to_ascii_lowercase().starts_with("secretsmanager:"))
                .collect();
            if secret_actions.is_empty() {
                continue;
            }
            if secret_actions
                .iter()
                .any(|a| a.as_str() != "secretsmanager:GetSecretValue")
            {
                problems.push(format!(
                    "{}: {secret_actions:?}; a function only reads its secrets",
                    def.name
                ));
            }
            for r in list(&s["Resource"]) {
                let spelled = match &r {
                    Value::Tagged(tag) if tag.tag == "!Sub" => tag.value.as_str().map(String::from),
                    _ => None,
                };
                match spelled.and_then(|arn| {
                    SECRETS
                        .iter()
                        .find(|s| arn == secret_arn_pattern(s.suffix))
                        .map(|s| s.suffix)
                }) {
                    Some(suffix) => {
                        granted.insert(suffix);
                    }
                    None => problems.push(format!(
                        "{}: may read {r:?}, which is not one secret of resources::SECRETS \
                         (spell it !Sub \"{}\")",
                        def.name,
                        secret_arn_pattern("<suffix>")
                    )),
                }
            }
        }
        for extra in granted.difference(&want) {
            problems.push(format!(
                "{}: its role may read the secret {extra}, which it does not use",
                def.name
            ));
        }
        for missing in want.difference(&granted) {
            problems.push(format!(
                "{}: reads the secret {missing}, which its role may not",
                def.name
            ));
        }
        // The names it is handed, one variable per secret it reads.
        let mut named = BTreeSet::new();
        let env = &f.props["Environment"]["Variables"];
        for (k, v) in env.as_mapping().into_iter().flatten() {
            let k = k.as_str().unwrap_or_default();
            if !k.starts_with("OTKLIK_SECRET") {
                continue;
            }
            match SECRETS.iter().find(|s| s.id_env() == k) {
                Some(s)
                    if text(v).as_deref() == Some(&format!("${{SecretsPrefix}}/{}", s.suffix)) =>
                {
                    named.insert(s.suffix);
                }
                _ => problems.push(format!(
                    "{}: {k} is not one secret's name variable, set to !Sub \"${{SecretsPrefix}}/<suffix>\"",
                    def.name
                )),
            }
        }
        if named != want {
            problems.push(format!(
                "{}: is handed the names of {named:?}, reads {want:?}",
                def.name
            ));
        }
    }
    problems
}
