//! `infra/template.yaml` against the code: `otklik_aws::resources` declares every table, queue,
//! function, route, schedule, timeout, concurrency and each function's access; the template must
//! say exactly the same, and its dashboard and alarms may name only metrics the code emits.
//! Renaming a queue (or a route, or adding a function) in the code alone fails here.

use std::collections::{BTreeMap, BTreeSet};

use otklik_aws::resources::{
    attr, Access, FunctionDef, Names, QueueDef, Trigger, FUNCTIONS, MAIN_TABLE, QUEUES,
    SCHEDULE_GROUP_SUFFIX,
};
use otklik_template_check::{
    get_att, list, reference, secret_arn_pattern, secret_problems, text, Resource, Template, STACK,
};
use serde_yaml::Value;

fn names() -> Names {
    Names::new(STACK)
}

/// Logical id of each queue, by its name.
fn queues_by_name(t: &Template) -> BTreeMap<String, &Resource> {
    t.of_kind("AWS::SQS::Queue")
        .into_iter()
        .map(|r| {
            (
                text(&r.props["QueueName"]).expect("every queue is named"),
                r,
            )
        })
        .collect()
}

/// The queue name behind `!GetAtt X.Arn`.
fn queue_name_of(t: &Template, v: &Value) -> String {
    let (id, att) = get_att(v).unwrap_or_else(|| panic!("expected !GetAtt Queue.Arn, got {v:?}"));
    assert_eq!(att, "Arn");
    let r = t
        .resource(&id)
        .unwrap_or_else(|| panic!("no resource {id}"));
    text(&r.props["QueueName"]).unwrap()
}

/// The template's functions by crate name (from `CodeUri: ../functions/<name>`).
fn functions(t: &Template) -> BTreeMap<String, &Resource> {
    t.of_kind("AWS::Serverless::Function")
        .into_iter()
        .map(|r| {
            let uri = r.props["CodeUri"].as_str().expect("CodeUri");
            let name = uri
                .strip_prefix("../functions/")
                .unwrap_or_else(|| panic!("{}: CodeUri {uri} is not ../functions/<name>", r.id));
            (name.to_string(), r)
        })
        .collect()
}

#[test]
fn the_table_is_the_one_the_code_uses() {
    let t = Template::load();
    let tables = t.of_kind("AWS::DynamoDB::Table");
    assert_eq!(tables.len(), 1, "one table");
    let p = &tables[0].props;
    assert_eq!(
        text(&p["TableName"]).unwrap(),
        names().table(&MAIN_TABLE),
        "table name"
    );
    let keys: Vec<(String, String)> = list(&p["KeySchema"])
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap().into(),
                k["KeyType"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        vec![
            (attr::PK.to_string(), "HASH".to_string()),
            (attr::SK.to_string(), "RANGE".to_string())
        ]
    );
    let indexes: Vec<(String, String, String)> = list(&p["GlobalSecondaryIndexes"])
        .iter()
        .map(|i| {
            let ks = list(&i["KeySchema"]);
            (
                i["IndexName"].as_str().unwrap().into(),
                ks[0]["AttributeName"].as_str().unwrap().into(),
                ks[1]["AttributeName"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want: Vec<(String, String, String)> = MAIN_TABLE
        .indexes
        .iter()
        .map(|(i, pk, sk)| (i.to_string(), pk.to_string(), sk.to_string()))
        .collect();
    assert_eq!(indexes, want);
    assert_eq!(
        p["TimeToLiveSpecification"]["AttributeName"].as_str(),
        MAIN_TABLE.ttl_attribute
    );
    assert_eq!(
        p["TimeToLiveSpecification"]["Enabled"].as_bool(),
        Some(true)
    );
    assert_eq!(
        p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true),
        "point-in-time recovery"
    );
}

#[test]
fn the_queues_are_the_ones_the_code_uses() {
    let t = Template::load();
    let by_name = queues_by_name(&t);
    let want: BTreeSet<String> = QUEUES
        .iter()
        .flat_map(|q| [names().queue(q), names().dlq(q)])
        .collect();
    let have: BTreeSet<String> = by_name.keys().cloned().collect();
    assert_eq!(
        have, want,
        "queue names in the template vs resources::QUEUES"
    );
    for q in QUEUES {
        let r = by_name[&names().queue(q)];
        assert_eq!(
            r.props["VisibilityTimeout"].as_u64(),
            Some(q.visibility_timeout.as_secs()),
            "{}: visibility timeout",
            q.suffix
        );
        let redrive = &r.props["RedrivePolicy"];
        assert_eq!(
            redrive["maxReceiveCount"].as_u64(),
            Some(u64::from(q.max_receive_count)),
            "{}: maxReceiveCount",
            q.suffix
        );
        assert_eq!(
            queue_name_of(&t, &redrive["deadLetterTargetArn"]),
            names().dlq(q),
            "{}: its DLQ",
            q.suffix
        );
    }
}

/// The HTTP routes of a function in the template.
fn routes_of(f: &Resource) -> BTreeSet<(String, String)> {
    f.props["Events"]
        .as_mapping()
        .into_iter()
        .flatten()
        .filter(|(_, e)| e["Type"].as_str() == Some("HttpApi"))
        .map(|(_, e)| {
            assert_eq!(
                reference(&e["Properties"]["ApiId"]).as_deref(),
                Some("HttpApi"),
                "every route is on the one HTTP API"
            );
            (
                e["Properties"]["Method"].as_str().unwrap().to_uppercase(),
                e["Properties"]["Path"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn check_trigger(t: &Template, def: &FunctionDef, f: &Resource) {
    let events: Vec<&Value> = f.props["Events"]
        .as_mapping()
        .map(|m| m.values().collect())
        .unwrap_or_default();
    match def.trigger {
        Trigger::Http(routes) => {
            let want: BTreeSet<(String, String)> = routes
                .iter()
                .map(|r| (r.method.to_string(), r.path.to_string()))
                .collect();
            assert_eq!(routes_of(f), want, "{}: routes", def.name);
            assert_eq!(events.len(), routes.len(), "{}: only its routes", def.name);
        }
        Trigger::Queue(q) => {
            assert_eq!(events.len(), 1, "{}: one event source", def.name);
            let e = events[0];
            assert_eq!(e["Type"].as_str(), Some("SQS"));
            let p = &e["Properties"];
            assert_eq!(
                queue_name_of(t, &p["Queue"]),
                names().queue(q),
                "{}: consumes its queue",
                def.name
            );
            assert!(
                list(&p["FunctionResponseTypes"])
                    .iter()
                    .any(|v| v.as_str() == Some("ReportBatchItemFailures")),
                "{}: per-item failures",
                def.name
            );
            // Absent, Lambda's defaults: 10 a batch, no window.
            assert_eq!(
                p["BatchSize"].as_u64().unwrap_or(10),
                u64::from(q.batch_size),
                "{}: batch size",
                def.name
            );
            assert_eq!(
                p["MaximumBatchingWindowInSeconds"].as_u64().unwrap_or(0),
                q.batching_window.as_secs(),
                "{}: batching window",
                def.name
            );
            assert_eq!(
                p["ScalingConfig"]["MaximumConcurrency"].as_u64(),
                def.max_concurrency.map(u64::from),
                "{}: maximum concurrency",
                def.name
            );
        }
        Trigger::Schedule(expr) => {
            assert!(events.is_empty(), "{}: started by its schedule", def.name);
            let schedules: Vec<&Resource> = t
                .of_kind("AWS::Scheduler::Schedule")
                .into_iter()
                .filter(|s| {
                    get_att(&s.props["Target"]["Arn"]).map(|(id, _)| id) == Some(f.id.clone())
                })
                .collect();
            assert_eq!(schedules.len(), 1, "{}: one schedule", def.name);
            assert_eq!(
                schedules[0].props["ScheduleExpression"].as_str(),
                Some(expr),
                "{}: schedule",
                def.name
            );
        }
    }
}

#[test]
fn every_function_matches_its_definition() {
    let t = Template::load();
    let fns = functions(&t);
    let have: BTreeSet<&str> = fns.keys().map(String::as_str).collect();
    let want: BTreeSet<&str> = FUNCTIONS.iter().map(|f| f.name).collect();
    assert_eq!(
        have, want,
        "functions in the template vs resources::FUNCTIONS"
    );
    for def in FUNCTIONS {
        let f = fns[def.name];
        assert_eq!(
            text(&f.props["FunctionName"]).unwrap(),
            format!("{STACK}-{}", def.name)
        );
        assert_eq!(
            f.metadata["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{}",
            def.name
        );
        assert_eq!(
            f.metadata["BuildProperties"]["Binary"].as_str(),
            Some(def.name)
        );
        assert_eq!(
            f.props["Timeout"].as_u64(),
            Some(u64::from(def.timeout_secs)),
            "{}: timeout",
            def.name
        );
        assert_eq!(
            f.props["ReservedConcurrentExecutions"].as_u64(),
            def.reserved_concurrency.map(u64::from),
            "{}: reserved concurrency",
            def.name
        );
        let env = &f.props["Environment"]["Variables"];
        // The shares of the retailCRM limit are gone: every caller books in the one budget the
        // functions share (`otklik_core::crm_budget`), and a stale share would mean nothing.
        assert!(
            env["OTKLIK_CRM_RATE_PER_SECOND"].is_null(),
            "{}: a per-instance retailCRM share",
            def.name
        );
        // Each queue it sends to, by URL (`!Ref`), in the variable `SqsQueue::connect` reads;
        // no other queue.
        let given: BTreeMap<String, String> = env
            .as_mapping()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| {
                let k = k.as_str()?;
                k.starts_with("OTKLIK_QUEUE_URL_").then(|| {
                    let id =
                        reference(v).unwrap_or_else(|| panic!("{}: {k} is not a !Ref", def.name));
                    let queue = t
                        .resource(&id)
                        .unwrap_or_else(|| panic!("{}: {k}: no resource {id}", def.name));
                    (k.to_string(), text(&queue.props["QueueName"]).unwrap())
                })
            })
            .collect();
        let wanted: BTreeMap<String, String> = def
            .access
            .iter()
            .filter_map(|a| match a {
                Access::Send(q) => Some((q.url_env(), names().queue(q))),
                _ => None,
            })
            .collect();
        assert_eq!(given, wanted, "{}: queue URLs in its environment", def.name);
        check_trigger(&t, def, f);
    }
}

#[test]
fn the_globals_give_every_function_the_same_runtime_and_stack() {
    let t = Template::load();
    let g = &t.doc["Globals"]["Function"];
    assert_eq!(g["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(g["Handler"].as_str(), Some("bootstrap"));
    assert_eq!(
        list(&g["Architectures"])
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect::<Vec<_>>(),
        vec!["arm64"]
    );
    let env = &g["Environment"]["Variables"];
    assert_eq!(
        reference(&env["OTKLIK_STACK"]).as_deref(),
        Some("AWS::StackName"),
        "resource names derive from the stack name, as Names::from_env reads it"
    );
    assert_eq!(env["OTKLIK_CONFIG"].as_str(), Some("/opt/otklik.toml"));
    // No secret is ever a plain parameter or an environment value.
    for (k, v) in t.doc["Parameters"].as_mapping().unwrap() {
        let k = k.as_str().unwrap();
        assert!(
            !["Token", "Key", "Password"].iter().any(|w| k.contains(w)),
            "parameter {k} looks like a secret; secrets live in Secrets Manager"
        );
        assert_ne!(v["NoEcho"].as_bool(), Some(true), "{k}");
    }
    // Secrets are read from the secret at cold start, never put into a function's environment.
    let mut envs = vec![env.clone()];
    for f in t.of_kind("AWS::Serverless::Function") {
        envs.push(f.props["Environment"]["Variables"].clone());
    }
    for e in envs {
        for secret_env in [
            otklik_core_env::CRM_API_KEY,
            otklik_core_env::TRIGGER_SECRET,
            otklik_core_env::LINK_SECRET,
            otklik_core_env::REPORT_TOKEN,
        ] {
            assert!(e[secret_env].is_null(), "{secret_env} in an environment");
        }
        for (k, _) in e.as_mapping().into_iter().flatten() {
            let k = k.as_str().unwrap();
            assert!(
                !k.contains("TOKEN") && !k.contains("KEY") && !k.ends_with("_SECRET"),
                "{k} looks like a secret in an environment"
            );
        }
    }
}

/// The secret variables' names, spelled here so this crate needs no dependency on the core.
mod otklik_core_env {
    pub const CRM_API_KEY: &str = "OTKLIK_CRM_API_KEY";
    pub const TRIGGER_SECRET: &str = "OTKLIK_TRIGGER_SECRET";
    pub const LINK_SECRET: &str = "OTKLIK_LINK_SECRET";
    pub const REPORT_TOKEN: &str = "OTKLIK_REPORT_TOKEN";
}

#[test]
fn the_scheduler_group_role_and_worker_settings_match() {
    let t = Template::load();
    let groups = t.of_kind("AWS::Scheduler::ScheduleGroup");
    assert_eq!(groups.len(), 1);
    assert_eq!(
        text(&groups[0].props["Name"]).unwrap(),
        format!("{STACK}-{SCHEDULE_GROUP_SUFFIX}")
    );
    // The worker finds the target and the role in its environment (scheduler::from_env).
    let fns = functions(&t);
    let env = &fns["intake-worker"].props["Environment"]["Variables"];
    let dispatch = otklik_aws::resources::DISPATCH_QUEUE;
    assert_eq!(
        queue_name_of(&t, &env["OTKLIK_DISPATCH_QUEUE_ARN"]),
        names().queue(&dispatch)
    );
    assert_eq!(
        get_att(&env["OTKLIK_SCHEDULER_ROLE_ARN"]),
        Some(("SchedulerRole".into(), "Arn".into()))
    );
    // The schedules' role may only send to the dispatch queue.
    let stmts = statements(t.resource("SchedulerRole").unwrap());
    assert_eq!(stmts.len(), 1);
    assert_eq!(stmts[0].actions, vec!["sqs:SendMessage".to_string()]);
    assert_eq!(
        stmts[0]
            .resources
            .iter()
            .map(|r| queue_name_of(&t, r))
            .collect::<Vec<_>>(),
        vec![names().queue(&dispatch)]
    );
}

#[derive(Debug)]
struct Statement {
    sid: String,
    actions: Vec<String>,
    resources: Vec<Value>,
    condition: Value,
}

fn statements(role: &Resource) -> Vec<Statement> {
    assert!(
        role.props["ManagedPolicyArns"].is_null(),
        "{}: managed policies grant more than we can see here",
        role.id
    );
    let mut out = Vec::new();
    for p in list(&role.props["Policies"]) {
        for s in list(&p["PolicyDocument"]["Statement"]) {
            assert_eq!(s["Effect"].as_str(), Some("Allow"));
            out.push(Statement {
                sid: s["Sid"].as_str().unwrap_or_default().to_string(),
                actions: list(&s["Action"])
                    .iter()
                    .map(|a| a.as_str().unwrap().to_string())
                    .collect(),
                resources: list(&s["Resource"]),
                condition: s["Condition"].clone(),
            });
        }
    }
    out
}

const TABLE_WRITES: &[&str] = &[
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
];
const TABLE_READS: &[&str] = &["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"];

#[test]
fn no_iam_wildcards_anywhere() {
    let t = Template::load();
    for role in t.of_kind("AWS::IAM::Role") {
        for s in statements(role) {
            for a in &s.actions {
                assert!(!a.contains('*'), "{}/{}: action {a}", role.id, s.sid);
            }
            for r in &s.resources {
                assert_ne!(r.as_str(), Some("*"), "{}/{}: resource *", role.id, s.sid);
            }
        }
    }
}

#[test]
fn each_function_has_its_own_role_with_exactly_its_access() {
    let t = Template::load();
    let fns = functions(&t);
    let mut roles_used = BTreeSet::new();
    for def in FUNCTIONS {
        let f = fns[def.name];
        let (role_id, _) = get_att(&f.props["Role"])
            .unwrap_or_else(|| panic!("{}: Role: !GetAtt <its role>.Arn", def.name));
        assert!(roles_used.insert(role_id.clone()), "{role_id} shared");
        let role = t.resource(&role_id).unwrap();
        let mut actions: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for s in statements(role) {
            for a in s.actions {
                if a == "iam:PassRole" {
                    assert_eq!(
                        s.condition["StringEquals"]["iam:PassedToService"].as_str(),
                        Some("scheduler.amazonaws.com"),
                        "{}: PassRole only to the Scheduler",
                        def.name
                    );
                }
                actions
                    .entry(a)
                    .or_default()
                    .extend(s.resources.iter().cloned());
            }
        }
        let has = |a: &str| actions.contains_key(a);
        let access = |x: Access| def.access.contains(&x);

        // Queues it may send to: exactly its Access::Send list.
        let sends: BTreeSet<String> = actions
            .get("sqs:SendMessage")
            .into_iter()
            .flatten()
            .map(|r| queue_name_of(&t, r))
            .collect();
        let want_sends: BTreeSet<String> = def
            .access
            .iter()
            .filter_map(|a| match a {
                Access::Send(q) => Some(names().queue(q)),
                _ => None,
            })
            .collect();
        assert_eq!(sends, want_sends, "{}: queues it sends to", def.name);

        // Its own queue, to consume.
        let consumes: Option<String> = actions
            .get("sqs:ReceiveMessage")
            .map(|rs| queue_name_of(&t, &rs[0]));
        let want_consume = match def.trigger {
            Trigger::Queue(q) => Some(names().queue(q)),
            _ => None,
        };
        assert_eq!(consumes, want_consume, "{}: queue it consumes", def.name);

        let writes = access(Access::WriteTable);
        let reads = writes || access(Access::ReadTable);
        for a in TABLE_WRITES {
            assert_eq!(has(a), writes, "{}: {a}", def.name);
        }
        for a in TABLE_READS {
            assert_eq!(has(a), reads, "{}: {a}", def.name);
        }
        assert_eq!(
            has("scheduler:CreateSchedule"),
            access(Access::Schedules),
            "{}: schedules",
            def.name
        );
        assert_eq!(
            has("iam:PassRole"),
            access(Access::Schedules),
            "{}",
            def.name
        );
        assert_eq!(
            has("ses:SendEmail"),
            access(Access::SendEmail),
            "{}: email",
            def.name
        );
        // Which secrets: `each_function_can_read_exactly_the_secrets_it_uses`.
        assert_eq!(
            has("secretsmanager:GetSecretValue"),
            !def.secrets().is_empty(),
            "{}: secret",
            def.name
        );
        // Nothing else: every action is one of the above or its own logs.
        let known: BTreeSet<&str> = [
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "sqs:SendMessage",
            "sqs:GetQueueUrl",
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ChangeMessageVisibility",
            "scheduler:CreateSchedule",
            "iam:PassRole",
            "ses:SendEmail",
            "ses:SendRawEmail",
            "secretsmanager:GetSecretValue",
        ]
        .into_iter()
        .chain(TABLE_WRITES.iter().copied())
        .chain(TABLE_READS.iter().copied())
        .collect();
        for a in actions.keys() {
            assert!(known.contains(a.as_str()), "{}: unexpected {a}", def.name);
        }
        let logs = &actions["logs:PutLogEvents"];
        let own_logs = format!("{}Logs", role_id.trim_end_matches("Role"));
        assert!(
            logs.iter()
                .all(|r| text(r).is_some_and(|s| s.contains(&own_logs))),
            "{}: writes only its own log group",
            def.name
        );
    }
}

fn assert_queue_def_is_used(q: &'static QueueDef) {
    let consumers = FUNCTIONS
        .iter()
        .filter(|f| f.trigger == Trigger::Queue(q))
        .count();
    assert_eq!(consumers, 1, "{}", q.suffix);
}

#[test]
fn the_dashboard_and_alarms_name_only_metrics_the_code_emits() {
    let t = Template::load();
    let refs = t.metric_refs();
    assert!(
        refs.len() >= 20,
        "dashboard and alarms read: {}",
        refs.len()
    );
    let dlqs: BTreeSet<String> = QUEUES.iter().map(|q| names().dlq(q)).collect();
    for r in &refs {
        match r.namespace.as_str() {
            otklik_metrics::NAMESPACE => {
                let m = otklik_metrics::ALL
                    .iter()
                    .find(|m| m.name == r.name)
                    .unwrap_or_else(|| {
                        panic!("{}: {} is not a metric the code emits", r.place, r.name)
                    });
                let mut sets: Vec<Vec<String>> = m
                    .dimension_sets()
                    .into_iter()
                    .map(|s| {
                        let mut s: Vec<String> = s.into_iter().map(String::from).collect();
                        s.sort();
                        s
                    })
                    .collect();
                sets.sort();
                assert!(
                    sets.contains(&r.dim_names()),
                    "{}: {} is not published with dimensions {:?} (it is with {sets:?})",
                    r.place,
                    r.name,
                    r.dim_names()
                );
                let stack = &r.dims[otklik_metrics::STACK_DIMENSION];
                assert!(
                    stack == STACK || stack.is_empty(),
                    "{}: {} must be this stack's",
                    r.place,
                    r.name
                );
            }
            "AWS/SQS" => {
                let q = &r.dims["QueueName"];
                let name = match q.strip_prefix("GetAtt:") {
                    Some(att) => {
                        let id = att.trim_end_matches(".QueueName");
                        text(&t.resource(id).unwrap().props["QueueName"]).unwrap()
                    }
                    None => q.clone(),
                };
                assert!(
                    dlqs.contains(&name),
                    "{}: {name} is not one of our DLQs",
                    r.place
                );
            }
            other => panic!("{}: namespace {other}", r.place),
        }
    }
    // Each DLQ has an alarm.
    for q in QUEUES {
        assert_queue_def_is_used(q);
        let alarmed = refs.iter().any(|r| {
            r.namespace == "AWS/SQS"
                && t.resource(&r.place).is_some()
                && r.dims["QueueName"].starts_with("GetAtt:")
                && text(
                    &t.resource(
                        r.dims["QueueName"]
                            .trim_start_matches("GetAtt:")
                            .trim_end_matches(".QueueName"),
                    )
                    .unwrap()
                    .props["QueueName"],
                )
                .as_deref()
                    == Some(names().dlq(q).as_str())
        });
        assert!(alarmed, "{}: no DLQ alarm", q.suffix);
    }
}

#[test]
fn every_metric_in_the_list_has_an_emission_site_in_the_code() {
    // The list is what the dashboard is checked against; a name in it that nothing emits would let
    // a dead panel pass. Emission sites are `otklik_metrics::<CONST>` / `m::<CONST>` uses outside
    // the metrics crate.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut sources = String::new();
    for dir in [
        "functions",
        "shared/app/src",
        "shared/aws/src",
        "shared/retailcrm/src",
    ] {
        collect_rs(&root.join(dir), &mut sources);
    }
    let consts = std::fs::read_to_string(root.join("shared/metrics/src/lib.rs")).unwrap();
    for m in otklik_metrics::ALL {
        // The constant whose definition holds the name: the last `pub const` before it.
        let at = consts
            .find(&format!("\"{}\"", m.name))
            .unwrap_or_else(|| panic!("{} has no constant", m.name));
        let def = consts[..at].rfind("pub const ").unwrap();
        let ident = consts[def + "pub const ".len()..]
            .split(':')
            .next()
            .unwrap()
            .trim();
        assert!(
            sources.contains(&format!("otklik_metrics::{ident}"))
                || sources.contains(&format!("m::{ident}")),
            "{} ({ident}) is never emitted",
            m.name
        );
    }
}

fn collect_rs(dir: &std::path::Path, out: &mut String) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "tests" && n != "target") {
                collect_rs(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
        }
    }
}

#[test]
fn each_function_can_read_exactly_the_secrets_it_uses() {
    let problems = secret_problems(&Template::load());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn a_function_granted_a_secret_it_does_not_use_fails_the_check() {
    // The check itself can fail: the template doctored so the retailCRM trigger's webhook may also
    // read the retailCRM key.
    let now = std::fs::read_to_string(otklik_template_check::path()).unwrap();
    let trigger = format!("- !Sub \"{}\"\n", secret_arn_pattern("trigger"));
    assert_eq!(now.matches(&trigger).count(), 1, "one function reads it");
    let doctored = now.replace(
        &trigger,
        &format!(
            "{trigger}                  - !Sub \"{}\"\n",
            secret_arn_pattern("crm")
        ),
    );
    let problems = secret_problems(&Template::parse(&doctored));
    assert_eq!(
        problems,
        vec!["order-intake: its role may read the secret crm, which it does not use".to_string()]
    );
    // A grant by wildcard, a secret in the globals, a name handed to a function that does not read
    // it: each is named.
    for (from, to, says) in [
        (
            "${SecretsPrefix}/trigger-??????",
            "${SecretsPrefix}/*",
            "order-intake: may read",
        ),
        (
            "        RUST_LOG: info\n",
            "        RUST_LOG: info\n        OTKLIK_SECRET_ID_CRM: !Sub \"${SecretsPrefix}/crm\"\n",
            "Globals: OTKLIK_SECRET_ID_CRM",
        ),
        (
            "          OTKLIK_SECRET_ID_TRIGGER: !Sub \"${SecretsPrefix}/trigger\"\n",
            "          OTKLIK_SECRET_ID_TRIGGER: !Sub \"${SecretsPrefix}/trigger\"\n          OTKLIK_SECRET_ID_LINKS: !Sub \"${SecretsPrefix}/links\"\n",
            "order-intake: is handed the names of",
        ),
    ] {
        assert_eq!(now.matches(from).count(), 1, "{from}");
        let problems = secret_problems(&Template::parse(&now.replace(from, to)));
        assert!(problems.iter().any(|p| p.starts_with(says)), "{says}: {problems:#?}");
    }
}

#[test]
fn a_renamed_queue_fails_the_check() {
    // The check itself can fail: the same comparison on a template with one queue renamed.
    let text_now = std::fs::read_to_string(otklik_template_check::path()).unwrap();
    let renamed = text_now.replace("-crm-writes\"", "-crm-write\"");
    assert_ne!(renamed, text_now);
    let t = Template::parse(&renamed);
    let have: BTreeSet<String> = queues_by_name(&t).keys().cloned().collect();
    let want: BTreeSet<String> = QUEUES
        .iter()
        .flat_map(|q| [names().queue(q), names().dlq(q)])
        .collect();
    assert_ne!(have, want);
}
