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
