//! The deploy rehearsal (docs/deploy.md, "Rehearsal without an AWS account"): the SAM template,
//! translated to plain CloudFormation by the pinned SAM translator, is created as a stack on the
//! local AWS endpoint (moto's CloudFormation) by `scripts/rehearse_deploy.py`; what the stack made
//! — read back through DynamoDB, SQS, Lambda, Scheduler and IAM — must be what
//! `otklik_aws::resources` declares. `drift.rs` reads the template's text; this reads what a
//! CloudFormation engine made of it (intrinsics resolved, SAM's events turned into mappings).
//!
//! Needs the project's venv (`.venv`, `make venv`: the script starts a moto server of its own);
//! `OTKLIK_REHEARSAL_PYTHON` names another interpreter with the same pins.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use otklik_aws::resources::{Access, Names, Trigger, FUNCTIONS, MAIN_TABLE, QUEUES};
use serde_json::Value;

const PREFIX: &str = "otklik/rehearsal";

/// The resource types of the template that moto 5.2.5's CloudFormation does not create: the HTTP
/// API and its stage, the alarms, the schedules and their group. The rest of the stack is made
/// and checked; these only a real deploy proves (docs/deploy.md lists them). A change here (moto
/// pinned higher, a new resource type) must change that list too.
const NOT_CREATED_BY_MOTO: &[&str] = &[
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Stage",
    "AWS::CloudWatch::Alarm",
    "AWS::Scheduler::Schedule",
    "AWS::Scheduler::ScheduleGroup",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A stack name of this run's own (readable in a failure; each run has its own moto server).
fn stack(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("rh{}-{tag}", nanos % 1_000_000_000_000)
}

/// Runs the rehearsal on `template`; the inventory of what the stack made.
fn rehearse(template: &Path, stack: &str) -> Value {
    let python = std::env::var("OTKLIK_REHEARSAL_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join(".venv/bin/python"));
    let out = Command::new(&python)
        .arg(root().join("scripts/rehearse_deploy.py"))
        .args(["--stack", stack, "--secrets-prefix", PREFIX, "--template"])
        .arg(template)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (make venv)", python.display()));
    assert!(
        out.status.success(),
        "the rehearsal failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the inventory is JSON")
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(String::from))
        .collect()
}

/// Where what the stack made differs from `resources.rs`; empty when it is exactly that.
fn problems(inv: &Value, stack: &str) -> Vec<String> {
    let names = Names::new(stack);
    let p = std::cell::RefCell::new(Vec::new());
    let expect = |ok: bool, what: String| {
        if !ok {
            p.borrow_mut().push(what)
        }
    };
    expect(
        inv["status"] == "CREATE_COMPLETE",
        format!("stack status {}", inv["status"]),
    );

    // The table, its keys, index and TTL.
    let table = &inv["tables"][names.table(&MAIN_TABLE)];
    expect(
        table["keys"] == serde_json::json!([["pk", "HASH"], ["sk", "RANGE"]]),
        format!("table keys {}", table["keys"]),
    );
    for (index, pk, sk) in MAIN_TABLE.indexes {
        expect(
            table["indexes"][index] == serde_json::json!([[pk, "HASH"], [sk, "RANGE"]]),
            format!("index {index}: {}", table["indexes"]),
        );
    }
    expect(
        table["indexes"].as_object().map(|m| m.len()) == Some(MAIN_TABLE.indexes.len()),
        format!("indexes {}", table["indexes"]),
    );
    // moto's CloudFormation does not apply a table's TTL: what it made says DISABLED, so the
    // attribute is read from the translated template (and only a real deploy proves it applied).
    let ttl = if table["ttl"]["status"] == "ENABLED" {
        table["ttl"]["attribute"].as_str().map(String::from)
    } else {
        let d = &inv["declared"]["ttl"];
        d["AttributeName"]
            .as_str()
            .filter(|_| d["Enabled"] == true)
            .map(String::from)
    };
    expect(
        ttl.as_deref() == MAIN_TABLE.ttl_attribute,
        format!("TTL on {ttl:?}"),
    );

    // The queues, each with its DLQ and redrive count, and nothing else.
    let queues = inv["queues"].as_object().cloned().unwrap_or_default();
    let want: BTreeSet<String> = QUEUES
        .iter()
        .flat_map(|q| [names.queue(q), names.dlq(q)])
        .collect();
    let have: BTreeSet<String> = queues.keys().cloned().collect();
    expect(have == want, format!("queues {have:?}, want {want:?}"));
    for q in QUEUES {
        let made = &inv["queues"][names.queue(q)];
        expect(
            made["visibility_timeout"] == q.visibility_timeout.as_secs(),
            format!(
                "{}: visibility {} (want {})",
                q.suffix,
                made["visibility_timeout"],
                q.visibility_timeout.as_secs()
            ),
        );
        expect(
            made["dlq"] == names.dlq(q).as_str(),
            format!("{}: DLQ {}", q.suffix, made["dlq"]),
        );
        expect(
            made["max_receive_count"] == q.max_receive_count,
            format!(
                "{}: maxReceiveCount {} (want {})",
                q.suffix, made["max_receive_count"], q.max_receive_count
            ),
        );
    }
    let queue_arn = |name: &str| inv["queues"][name]["arn"].as_str().map(String::from);

    // Event source mappings: one per queue, to its one consumer, with its batch.
    let mappings = inv["event_source_mappings"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let consumers = FUNCTIONS
        .iter()
        .filter(|f| matches!(f.trigger, Trigger::Queue(_)))
        .count();
    expect(
        mappings.len() == consumers,
        format!(
            "{} event source mappings, {consumers} consumers",
            mappings.len()
        ),
    );
    for f in FUNCTIONS {
        let Trigger::Queue(q) = f.trigger else {
            continue;
        };
        let full = format!("{stack}-{}", f.name);
        let Some(m) = mappings.iter().find(|m| m["function"] == full.as_str()) else {
            p.borrow_mut()
                .push(format!("{}: no event source mapping", f.name));
            continue;
        };
        expect(
            m["queue"] == names.queue(q).as_str(),
            format!("{}: reads {}", f.name, m["queue"]),
        );
        expect(
            m["batch_size"] == q.batch_size,
            format!(
                "{}: batch size {} (want {})",
                f.name, m["batch_size"], q.batch_size
            ),
        );
        expect(
            m["batching_window"] == q.batching_window.as_secs(),
            format!("{}: batching window {}", f.name, m["batching_window"]),
        );
        expect(
            m["max_concurrency"].as_u64() == f.max_concurrency.map(u64::from),
            format!("{}: maximum concurrency {}", f.name, m["max_concurrency"]),
        );
        expect(
            strings(&m["response_types"]).contains("ReportBatchItemFailures"),
            format!("{}: per-item failures", f.name),
        );
    }

    // The scheduler group (moto does not create it: its name as the template declares it).
    let groups = strings(&inv["schedule_groups"]);
    let declared = strings(&inv["declared"]["schedule_groups"])
        .into_iter()
        .chain(
            inv["declared"]["schedule_groups"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|g| g["Fn::Sub"].as_str())
                .map(|s| s.replace("${AWS::StackName}", stack)),
        )
        .collect::<BTreeSet<_>>();
    let group = if groups.is_empty() { declared } else { groups };
    expect(
        group == BTreeSet::from([names.schedule_group()]),
        format!("schedule groups {group:?}"),
    );

    // Functions: timeout, concurrency, the names they are handed; roles: exactly their access.
    let account_region = queue_arn(&names.queue(&QUEUES[0]))
        .and_then(|a| {
            let parts: Vec<&str> = a.split(':').collect();
            (parts.len() == 6).then(|| (parts[3].to_string(), parts[4].to_string()))
        })
        .unwrap_or_default();
    let (region, account) = account_region;
    for f in FUNCTIONS {
        let full = format!("{stack}-{}", f.name);
        let made = &inv["functions"][&full];
        if made.is_null() {
            p.borrow_mut().push(format!("{}: not created", f.name));
            continue;
        }
        expect(
            made["timeout"] == f.timeout_secs,
            format!("{}: timeout {}", f.name, made["timeout"]),
        );
        expect(
            made["reserved_concurrency"].as_u64() == f.reserved_concurrency.map(u64::from),
            format!(
                "{}: reserved concurrency {}",
                f.name, made["reserved_concurrency"]
            ),
        );
        let env = made["env"].as_object().cloned().unwrap_or_default();
        let secret_names: BTreeMap<String, String> = env
            .iter()
            .filter(|(k, _)| k.starts_with("OTKLIK_SECRET"))
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        let want_names: BTreeMap<String, String> = f
            .secrets()
            .iter()
            .map(|s| (s.id_env(), s.name(PREFIX)))
            .collect();
        expect(
            secret_names == want_names,
            format!("{}: secret names {secret_names:?}", f.name),
        );
        for a in f.access {
            if let Access::Send(q) = a {
                // The queue's `Ref`: moto spells it as AWS does (`https://sqs.<region>…`), its own
                // API by the endpoint's address; both end in the account and the queue's name.
                let url = env.get(&q.url_env()).and_then(Value::as_str);
                expect(
                    url.is_some_and(|u| u.ends_with(&format!("/{account}/{}", names.queue(q)))),
                    format!("{}: {} is {url:?}", f.name, q.url_env()),
                );
            }
        }

        let role = &inv["roles"][made["role"].as_str().unwrap_or_default()];
        let mut grants: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for s in role["statements"].as_array().into_iter().flatten() {
            for a in strings(&s["actions"]) {
                grants
                    .entry(a)
                    .or_default()
                    .extend(strings(&s["resources"]));
            }
        }
        let granted = |a: &str| grants.get(a).cloned().unwrap_or_default();
        expect(
            strings(&role["managed"]).is_empty(),
            format!("{}: managed policies", f.name),
        );
        let secrets: BTreeSet<String> = f
            .secrets()
            .iter()
            .map(|s| {
                format!(
                    "arn:aws:secretsmanager:{region}:{account}:secret:{}-??????",
                    s.name(PREFIX)
                )
            })
            .collect();
        expect(
            granted("secretsmanager:GetSecretValue") == secrets,
            format!(
                "{}: may read secrets {:?}",
                f.name,
                granted("secretsmanager:GetSecretValue")
            ),
        );
        let sends: BTreeSet<String> = f
            .access
            .iter()
            .filter_map(|a| match a {
                Access::Send(q) => queue_arn(&names.queue(q)),
                _ => None,
            })
            .collect();
        expect(
            granted("sqs:SendMessage") == sends,
            format!("{}: sends to {:?}", f.name, granted("sqs:SendMessage")),
        );
        let consumes: BTreeSet<String> = match f.trigger {
            Trigger::Queue(q) => queue_arn(&names.queue(q)).into_iter().collect(),
            _ => BTreeSet::new(),
        };
        expect(
            granted("sqs:ReceiveMessage") == consumes,
            format!("{}: consumes {:?}", f.name, granted("sqs:ReceiveMessage")),
        );
        let writes = f.access.contains(&Access::WriteTable);
        let reads = writes || f.access.contains(&Access::ReadTable);
        expect(
            grants.contains_key("dynamodb:PutItem") == writes
                && grants.contains_key("dynamodb:GetItem") == reads,
            format!("{}: table access", f.name),
        );
        if reads {
            let table = &granted("dynamodb:GetItem");
            expect(
                table
                    .iter()
                    .any(|r| r.ends_with(&format!(":table/{stack}-main"))),
                format!("{}: table {table:?}", f.name),
            );
        }
        expect(
            grants.contains_key("ses:SendEmail") == f.access.contains(&Access::SendEmail),
            format!("{}: email", f.name),
        );
        expect(
            grants.contains_key("scheduler:CreateSchedule")
                == f.access.contains(&Access::Schedules),
            format!("{}: schedules", f.name),
        );
    }
    p.into_inner()
}

#[test]
fn the_rehearsed_stack_is_what_resources_rs_declares() {
    let started = std::time::Instant::now();
    let stack = stack("ok");
    let inv = rehearse(&otklik_template_check::path(), &stack);
    let problems = problems(&inv, &stack);
    assert!(problems.is_empty(), "{problems:#?}");
    // What moto could not create is exactly what docs/deploy.md says only a real deploy proves.
    assert_eq!(
        strings(&inv["not_created_by_moto"]),
        NOT_CREATED_BY_MOTO.iter().map(|s| s.to_string()).collect(),
        "update NOT_CREATED_BY_MOTO and docs/deploy.md"
    );
    let doc = std::fs::read_to_string(root().join("docs/deploy.md")).unwrap();
    for t in NOT_CREATED_BY_MOTO {
        assert!(doc.contains(&format!("`{t}`")), "docs/deploy.md names {t}");
    }
    // Everything else the template declares was created.
    for (kind, n) in inv["types"].as_object().unwrap() {
        if !NOT_CREATED_BY_MOTO.contains(&kind.as_str()) {
            assert_eq!(n["created"], n["declared"], "{kind}");
        }
    }
    eprintln!("rehearsal: {:.1} s", started.elapsed().as_secs_f64());
}

#[test]
fn the_rehearsal_fails_when_the_template_and_resources_rs_disagree() {
    // The same template with a redrive count, a batch size and a secret grant changed: each is
    // named, and nothing else is.
    let now = std::fs::read_to_string(otklik_template_check::path()).unwrap();
    let mut doctored = now.clone();
    for (from, to) in [
        (
            "deadLetterTargetArn: !GetAtt CrmWritesDlq.Arn\n        maxReceiveCount: 50",
            "deadLetterTargetArn: !GetAtt CrmWritesDlq.Arn\n        maxReceiveCount: 5",
        ),
        (
            "Queue: !GetAtt InboundQueue.Arn\n            BatchSize: 10",
            "Queue: !GetAtt InboundQueue.Arn\n            BatchSize: 5",
        ),
        (
            "secret:${SecretsPrefix}/trigger-??????\"\n",
            "secret:${SecretsPrefix}/trigger-??????\"\n                  - !Sub \"arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${SecretsPrefix}/crm-??????\"\n",
        ),
    ] {
        assert_eq!(doctored.matches(from).count(), 1, "{from}");
        doctored = doctored.replace(from, to);
    }
    let dir = std::env::temp_dir().join(format!("otklik-rehearsal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("template.yaml");
    std::fs::write(&path, doctored).unwrap();
    let stack = stack("bad");
    let inv = rehearse(&path, &stack);
    let _ = std::fs::remove_dir_all(&dir);
    let problems = problems(&inv, &stack);
    let said = |start: &str| problems.iter().any(|p| p.starts_with(start));
    assert!(
        said("crm-writes: maxReceiveCount 5 (want 50)"),
        "{problems:#?}"
    );
    assert!(
        said("inbound-worker: batch size 5 (want 10)"),
        "{problems:#?}"
    );
    assert!(said("order-intake: may read secrets"), "{problems:#?}");
    assert_eq!(problems.len(), 3, "{problems:#?}");
}
