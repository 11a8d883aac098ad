//! The per-day KPI counters (`otklik_core::kpi::fold`) and the list of complaints still open, as
//! items: a month of days per partition (`kpi#2026-12`, sort key `2026-12-06#t` for the team,
//! `2026-12-06#e#11` for an employee), so a year is thirteen queries. Survey and complaint saves
//! add their change to them in the same transaction as the save itself (surveys.rs,
//! complaints.rs); this file builds those writes and reads the counters back.

use otklik_core::dashboard::OpenCase;
use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use chrono::NaiveDate;
use otklik_core::complaint::ComplaintTrack;
use otklik_core::kpi::fold::{Cell, CellDelta, Cells, Delta, RowKey};

use super::*;

/// The partition of the complaints the dashboard lists as open (not in a final status).
const REPORT_OPEN: &str = "kpi-open";
/// Attribute names of the resolved complaints' seconds start with this (then the survey id).
const SECS: &str = "d_";

fn month_pk(day: NaiveDate) -> String {
    format!("kpi#{}", day.format("%Y-%m"))
}

fn cell_sk(day: NaiveDate, row: RowKey) -> String {
    format!("{day}#{}", row.code())
}

/// One cell's change as an update: `ADD` for the counters, `SET`/`REMOVE` for the seconds.
pub(super) fn cell_update(
    table: &str,
    day: NaiveDate,
    row: RowKey,
    d: &CellDelta,
) -> PortResult<TransactWriteItem> {
    let mut names = HashMap::new();
    let mut values = HashMap::new();
    let (mut add, mut set, mut remove) = (Vec::new(), Vec::new(), Vec::new());
    for (i, (k, v)) in d.add.iter().enumerate() {
        names.insert(format!("#a{i}"), k.clone());
        values.insert(format!(":a{i}"), n(v));
        add.push(format!("#a{i} :a{i}"));
    }
    for (i, (k, v)) in d.set.iter().enumerate() {
        names.insert(format!("#s{i}"), format!("{SECS}{k}"));
        values.insert(format!(":s{i}"), n(v));
        set.push(format!("#s{i} = :s{i}"));
    }
    for (i, k) in d.remove.iter().enumerate() {
        names.insert(format!("#r{i}"), format!("{SECS}{k}"));
        remove.push(format!("#r{i}"));
    }
    let mut expr = Vec::new();
    if !add.is_empty() {
        expr.push(format!("ADD {}", add.join(", ")));
    }
    if !set.is_empty() {
        expr.push(format!("SET {}", set.join(", ")));
    }
    if !remove.is_empty() {
        expr.push(format!("REMOVE {}", remove.join(", ")));
    }
    let update = Update::builder()
        .table_name(table)
        .key(attr::PK, s(month_pk(day)))
        .key(attr::SK, s(cell_sk(day, row)))
        .update_expression(expr.join(" "))
        .set_expression_attribute_names(Some(names))
        .set_expression_attribute_values((!values.is_empty()).then_some(values))
        .build()
        .map_err(|e| PortError::Permanent(format!("kpi update: {e}")))?;
    Ok(TransactWriteItem::builder().update(update).build())
}

pub(super) fn delta_writes(table: &str, delta: &Delta) -> PortResult<Vec<TransactWriteItem>> {
    let mut writes: Vec<TransactWriteItem> = delta
        .iter()
        .map(|((day, row), d)| cell_update(table, *day, *row, d))
        .collect::<PortResult<_>>()?;
    // Each month changed moves its summary's generation on: the packed copy is stale from now.
    let months: std::collections::BTreeSet<NaiveDate> = delta
        .keys()
        .map(|(day, _)| day.with_day(1).expect("every month has a 1st"))
        .collect();
    for month in months {
        writes.push(
            TransactWriteItem::builder()
                .update(generation_bump(table, month)?)
                .build(),
        );
    }
    Ok(writes)
}

/// `ADD gen 1` on a month's summary.
fn generation_bump(table: &str, month: NaiveDate) -> PortResult<Update> {
    Update::builder()
        .table_name(table)
        .key(attr::PK, s(month_pk(month)))
        .key(attr::SK, s(SUMMARY))
        .update_expression("ADD #g :one")
        .expression_attribute_names("#g", GEN)
        .expression_attribute_values(":one", n(1))
        .build()
        .map_err(|e| PortError::Permanent(format!("kpi summary: {e}")))
}

/// A month's summary: beside its day cells (`kpi#2026-12` / `summary`, which sorts after every
/// day), the month's cells packed into one attribute as of generation `packed_gen`, and `gen`,
/// which every change to the month's cells moves on in the same transaction. While the two are
/// equal the packed copy is exact, and a month is one small read instead of hundreds of cells;
/// otherwise the reader reads the cells and packs them again.
const SUMMARY: &str = "summary";
const GEN: &str = "gen";
const PACKED: &str = "packed";
const PACKED_GEN: &str = "packed_gen";

/// One cell as packed in a summary.
#[derive(serde::Serialize, serde::Deserialize)]
struct Packed {
    d: NaiveDate,
    r: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    c: BTreeMap<String, i64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    s: BTreeMap<String, i64>,
}

fn pack(cells: &Cells) -> PortResult<String> {
    let packed: Vec<Packed> = cells
        .iter()
        .map(|((d, r), c)| Packed {
            d: *d,
            r: r.code(),
            c: c.counts.clone(),
            s: c.resolved_secs.clone(),
        })
        .collect();
    serde_json::to_string(&packed).map_err(|e| PortError::Permanent(format!("kpi pack: {e}")))
}

fn unpack(text: &str) -> Option<Cells> {
    let packed: Vec<Packed> = serde_json::from_str(text).ok()?;
    packed
        .into_iter()
        .map(|p| {
            Some((
                (p.d, RowKey::parse(&p.r)?),
                Cell {
                    counts: p.c,
                    resolved_secs: p.s,
                },
            ))
        })
        .collect()
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> i64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The open-complaints entry of a survey: there while its complaint is open, gone once closed.
/// It carries what the main page shows of the complaint (`case`), rewritten with every save of
/// the complaint while it is open.
pub(super) fn open_entry(
    table: &str,
    survey: &SurveyId,
    open: bool,
    case: Option<&OpenCase>,
) -> PortResult<TransactWriteItem> {
    let built = if open {
        Put::builder()
            .table_name(table)
            .set_item(Some(open_item(survey, case)?))
            .build()
            .map(|p| TransactWriteItem::builder().put(p).build())
    } else {
        Delete::builder()
            .table_name(table)
            .key(attr::PK, s(REPORT_OPEN))
            .key(attr::SK, s(survey.as_str()))
            .build()
            .map(|d| TransactWriteItem::builder().delete(d).build())
    };
    built.map_err(|e| PortError::Permanent(format!("open complaint entry: {e}")))
}

/// The item of an open complaint's entry, with its case when known.
fn open_item(
    survey: &SurveyId,
    case: Option<&OpenCase>,
) -> PortResult<HashMap<String, AttributeValue>> {
    let mut item = HashMap::from([
        (attr::PK.to_string(), s(REPORT_OPEN)),
        (attr::SK.to_string(), s(survey.as_str())),
    ]);
    if let Some(case) = case {
        let doc = serde_json::to_string(case).map_err(|e| {
            PortError::Permanent(format!("open complaint {survey} does not serialize: {e}"))
        })?;
        item.insert(attr::DOC.to_string(), s(doc));
    }
    Ok(item)
}

/// Why a transaction was refused: its first item's condition (the saved item changed or exists),
/// or another transaction on the same counters at the same moment (try again).
pub(super) enum Refused {
    Condition,
    Busy,
}

pub(super) async fn transact(
    client: &aws_sdk_dynamodb::Client,
    items: Vec<TransactWriteItem>,
) -> PortResult<Result<(), Refused>> {
    let result = client
        .transact_write_items()
        .set_transact_items(Some(items))
        .send()
        .await;
    match result {
        Ok(_) => Ok(Ok(())),
        Err(e) => {
            use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
            if let Some(E::TransactionCanceledException(c)) = e.as_service_error() {
                let codes: Vec<&str> = c
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code().unwrap_or("None"))
                    .collect();
                if codes.first() == Some(&"ConditionalCheckFailed") {
                    return Ok(Err(Refused::Condition));
                }
                if codes.contains(&"TransactionConflict") {
                    return Ok(Err(Refused::Busy));
                }
            }
            if e.as_service_error()
                .is_some_and(|se| matches!(se, E::TransactionInProgressException(_)))
            {
                return Ok(Err(Refused::Busy));
            }
            Err(port_error(e))
        }
    }
}

impl DynamoStore {
    /// The counters of the days `from..=to` (the shop's days).
    pub async fn kpi_cells(&self, from: NaiveDate, to: NaiveDate) -> PortResult<Cells> {
        let mut months = Vec::new();
        let mut month = from.with_day(1).expect("every month has a 1st");
        while month <= to {
            months.push(month);
            month = month
                .checked_add_months(chrono::Months::new(1))
                .expect("dates before year 262143");
        }
        let summaries: HashMap<String, HashMap<String, AttributeValue>> = self
            .get_many(
                months
                    .iter()
                    .map(|m| (month_pk(*m), SUMMARY.to_string()))
                    .collect(),
            )
            .await?
            .into_iter()
            .filter_map(|item| {
                let pk = item.get(attr::PK)?.as_s().ok()?.clone();
                Some((pk, item))
            })
            .collect();
        let mut cells = Cells::new();
        // The months whose packed copy is stale are read side by side.
        let mut stale = tokio::task::JoinSet::new();
        for month in months {
            let summary = summaries.get(&month_pk(month));
            let gen = summary.map_or(0, |i| number(i, GEN));
            let fresh = summary
                .filter(|i| i.contains_key(PACKED) && number(i, PACKED_GEN) == gen)
                .and_then(|i| i.get(PACKED)?.as_s().ok())
                .and_then(|text| unpack(text));
            match fresh {
                Some(c) => cells.extend(c),
                None => {
                    let store = self.clone();
                    stale.spawn(async move { store.repack(month, gen).await });
                }
            }
        }
        while let Some(r) = stale.join_next().await {
            cells.extend(r.map_err(|e| PortError::Transient(e.to_string()))??);
        }
        // Only the period's days: the months at its ends hold others.
        cells.retain(|(day, _), _| *day >= from && *day <= to);
        Ok(cells)
    }

    /// Reads a month's cells and packs them into its summary as of generation `gen` — unless
    /// the month changed meanwhile (then the next reader packs it).
    async fn repack(&self, month: NaiveDate, gen: i64) -> PortResult<Cells> {
        let last = month
            .checked_add_months(chrono::Months::new(1))
            .and_then(|m| m.pred_opt())
            .expect("dates before year 262143");
        let cells = self.kpi_month(month, month, last).await?;
        let condition = if gen == 0 {
            "attribute_not_exists(#g)"
        } else {
            "#g = :g"
        };
        // Generation 0: the month's summary was never bumped (a seeded table).
        let write = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::PK, s(month_pk(month)))
            .key(attr::SK, s(SUMMARY))
            .update_expression("SET #p = :p, #pg = :g")
            .condition_expression(condition)
            .expression_attribute_names("#g", GEN)
            .expression_attribute_names("#p", PACKED)
            .expression_attribute_names("#pg", PACKED_GEN)
            .expression_attribute_values(":p", s(pack(&cells)?))
            .expression_attribute_values(":g", n(gen));
        match write.send().await {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) => {}
            Err(e) => return Err(port_error(e)),
        }
        Ok(cells)
    }

    /// The cells of `month`'s partition within `from..=to`.
    async fn kpi_month(
        &self,
        month: NaiveDate,
        from: NaiveDate,
        to: NaiveDate,
    ) -> PortResult<Cells> {
        let mut cells = Cells::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :a AND :b")
                .expression_attribute_names("#pk", attr::PK)
                .expression_attribute_names("#sk", attr::SK)
                .expression_attribute_values(":pk", s(month_pk(month)))
                .expression_attribute_values(":a", s(format!("{from}#")))
                // `~` sorts after every row code.
                .expression_attribute_values(":b", s(format!("{to}#~")))
                // Consistent: what is packed as of a generation must hold every change up to it.
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(port_error)?;
            for item in page.items() {
                if let Some((key, cell)) = parse_cell(item) {
                    cells.insert(key, cell);
                }
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(cells);
            }
        }
    }

    /// Surveys whose complaint is open, as the counters last saw it (the dashboard's list).
    pub async fn report_open_complaints(&self) -> PortResult<Vec<(SurveyId, Option<OpenCase>)>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", attr::PK)
                .expression_attribute_values(":pk", s(REPORT_OPEN))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(port_error)?;
            for item in page.items() {
                if let Some(id) = item.get(attr::SK).and_then(|v| v.as_s().ok()) {
                    let id = SurveyId::parse(id)
                        .map_err(|e| PortError::Permanent(format!("open complaint {id:?}: {e}")))?;
                    // An entry an older build put has no case: the reader reads its survey.
                    let case = item
                        .get(attr::DOC)
                        .and_then(|v| v.as_s().ok())
                        .and_then(|d| serde_json::from_str::<OpenCase>(d).ok());
                    out.push((id, case));
                }
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(out);
            }
        }
    }

    /// Writes `surveys` and their `complaints` as their saves would have left them — each with
    /// the part it adds, the counters holding the sum, the open complaints listed — but in
    /// batches, and the counters once at the end. Only for seeding a table nothing else writes to
    /// meanwhile (the bench's year of data): the saves' transactions are what keeps a live table
    /// right.
    pub async fn seed_counted(
        &self,
        surveys: &[Survey],
        complaints: &[(SurveyId, ComplaintTrack)],
    ) -> PortResult<()> {
        use otklik_core::kpi::fold::{apply, delta, refold_complaint, refold_survey};
        let f = self
            .fold
            .clone()
            .ok_or_else(|| PortError::Permanent("seeding needs the shop's settings".into()))?;
        let mut sum = Cells::new();
        let mut items = Vec::with_capacity(surveys.len() + 2 * complaints.len());
        let mut by_id = HashMap::new();
        for s in surveys {
            let (part, d) = refold_survey(s, f.tz);
            apply(&mut sum, &d);
            let mut stored = s.clone();
            stored.kpi = part;
            items.push(Self::item(&stored, 1)?);
            items.extend(super::surveys::listing_items(&stored));
            by_id.insert(s.id.clone(), stored);
        }
        for (id, track) in complaints {
            let Some(survey) = by_id.get(id) else {
                continue;
            };
            let mut track = track.clone();
            let (part, d) = refold_complaint(survey, &track, &f.complaints, f.tz);
            apply(&mut sum, &d);
            let open = part.as_ref().is_some_and(|p| p.open);
            track.kpi = part;
            let expires =
                n((track.opened_at + chrono::Duration::days(SURVEY_RETENTION_DAYS)).timestamp());
            items.push(HashMap::from([
                (attr::PK.to_string(), s(format!("complaint#{id}"))),
                (attr::SK.to_string(), s("complaint")),
                ("order_id".to_string(), n(track.order_id)),
                ("opened_at".to_string(), s(rfc3339(track.opened_at))),
                (attr::VERSION.to_string(), n(1)),
                (
                    attr::DOC.to_string(),
                    s(serde_json::to_string(&track).map_err(|e| {
                        PortError::Permanent(format!("complaint does not serialize: {e}"))
                    })?),
                ),
                (attr::EXPIRES_AT.to_string(), expires),
            ]));
            if open {
                items.push(open_item(
                    id,
                    OpenCase::from_survey(survey, &track).as_ref(),
                )?);
            }
        }
        let mut batches = tokio::task::JoinSet::new();
        for chunk in items.chunks(25) {
            // A few batches in flight: the local endpoint answers them in parallel.
            while batches.len() >= 8 {
                batches
                    .join_next()
                    .await
                    .expect("a batch is in flight")
                    .map_err(|e| PortError::Transient(e.to_string()))??;
            }
            let (client, table, chunk) = (self.client.clone(), self.table.clone(), chunk.to_vec());
            batches.spawn(async move { batch_put(&client, &table, chunk).await });
        }
        while let Some(r) = batches.join_next().await {
            r.map_err(|e| PortError::Transient(e.to_string()))??;
        }
        self.add_kpi_cells(&delta(&Cells::new(), &sum)).await
    }

    /// The surveys of `ids` with their complaint's track, in batched reads (the dashboard's open
    /// complaints: a few dozen at most).
    pub async fn surveys_with_tracks(
        &self,
        ids: &[SurveyId],
    ) -> PortResult<Vec<(Survey, Option<ComplaintTrack>)>> {
        let keys = ids
            .iter()
            .flat_map(|id| {
                [
                    (format!("survey#{id}"), "survey".to_string()),
                    (format!("complaint#{id}"), "complaint".to_string()),
                ]
            })
            .collect();
        let mut surveys = Vec::new();
        let mut tracks = HashMap::new();
        for item in self.get_many(keys).await? {
            match item
                .get(attr::SK)
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
            {
                Some("survey") => surveys.push(Self::parse(&item)?),
                Some("complaint") => {
                    let id = item
                        .get(attr::PK)
                        .and_then(|v| v.as_s().ok())
                        .and_then(|pk| pk.strip_prefix("complaint#"))
                        .unwrap_or_default()
                        .to_string();
                    let doc = item.get(attr::DOC).and_then(|v| v.as_s().ok());
                    if let Some(track) =
                        doc.and_then(|d| serde_json::from_str::<ComplaintTrack>(d).ok())
                    {
                        tracks.insert(id, track);
                    }
                }
                _ => {}
            }
        }
        Ok(surveys
            .into_iter()
            .map(|s| {
                let track = tracks.remove(s.id.as_str());
                (s, track)
            })
            .collect())
    }

    /// The complaint tracks of `ids`, by survey id, in batched reads of up to 100 (the
    /// per-survey lists: only surveys that decided a complaint are asked for). A survey without
    /// a track yet (its complaint not opened so far) is absent.
    pub async fn complaint_tracks(
        &self,
        ids: &[SurveyId],
    ) -> PortResult<HashMap<String, ComplaintTrack>> {
        let keys = ids
            .iter()
            .map(|id| (format!("complaint#{id}"), "complaint".to_string()))
            .collect();
        let mut tracks = HashMap::new();
        for item in self.get_many(keys).await? {
            let id = item
                .get(attr::PK)
                .and_then(|v| v.as_s().ok())
                .and_then(|pk| pk.strip_prefix("complaint#"))
                .unwrap_or_default()
                .to_string();
            let doc = item
                .get(attr::DOC)
                .and_then(|v| v.as_s().ok())
                .ok_or_else(|| PortError::Permanent(format!("complaint {id} has no document")))?;
            let track = serde_json::from_str::<ComplaintTrack>(doc).map_err(|e| {
                PortError::Permanent(format!("stored complaint {id} does not parse: {e}"))
            })?;
            tracks.insert(id, track);
        }
        Ok(tracks)
    }

    /// Adds counters directly, outside any survey's save: only for seeding a table nobody else
    /// writes to (the bench), whose surveys were written with their parts already set.
    pub async fn add_kpi_cells(&self, delta: &Delta) -> PortResult<()> {
        for w in delta_writes(&self.table, delta)? {
            let u = w.update.expect("delta writes are updates");
            self.client
                .update_item()
                .table_name(u.table_name)
                .set_key(Some(u.key))
                .update_expression(u.update_expression)
                .set_expression_attribute_names(u.expression_attribute_names)
                .set_expression_attribute_values(u.expression_attribute_values)
                .send()
                .await
                .map_err(port_error)?;
        }
        Ok(())
    }
}

/// One batch of puts, its unprocessed items tried again until none is left.
pub(super) async fn batch_put(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    items: Vec<HashMap<String, AttributeValue>>,
) -> PortResult<()> {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    let mut requests: Vec<WriteRequest> = items
        .into_iter()
        .map(|item| {
            PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map(|p| WriteRequest::builder().put_request(p).build())
                .map_err(|e| PortError::Permanent(format!("seed put: {e}")))
        })
        .collect::<PortResult<_>>()?;
    while !requests.is_empty() {
        let out = client
            .batch_write_item()
            .request_items(table, requests)
            .send()
            .await
            .map_err(port_error)?;
        requests = out
            .unprocessed_items
            .and_then(|mut u| u.remove(table))
            .unwrap_or_default();
    }
    Ok(())
}

fn parse_cell(item: &HashMap<String, AttributeValue>) -> Option<((NaiveDate, RowKey), Cell)> {
    let sk = item.get(attr::SK)?.as_s().ok()?;
    let (day, row) = sk.split_once('#')?;
    let day = NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    let row = RowKey::parse(row)?;
    let mut cell = Cell::default();
    let mut secs = BTreeMap::new();
    for (k, v) in item {
        if k == attr::PK || k == attr::SK {
            continue;
        }
        let Some(x) = v.as_n().ok().and_then(|x| x.parse::<i64>().ok()) else {
            continue;
        };
        match k.strip_prefix(SECS) {
            Some(survey) => {
                secs.insert(survey.to_string(), x);
            }
            None => {
                cell.counts.insert(k.clone(), x);
            }
        }
    }
    cell.resolved_secs = secs;
    Some(((day, row), cell))
}
