//! The per-day KPI counters (`otklik_core::kpi::fold`) and the list of complaints still open, as
//! items: a month of days per partition (`kpi#2026-12`, sort key `2026-12-06#t` for the team,
//! `2026-12-06#e#11` for an employee), so a year is thirteen queries. Survey and complaint saves
//! add their change to them in the same transaction as the save itself (surveys.rs,
//! complaints.rs); this file builds those writes and reads the counters back.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use chrono::NaiveDate;
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
    delta
        .iter()
        .map(|((day, row), d)| cell_update(table, *day, *row, d))
        .collect()
}

/// The open-complaints entry of a survey: there while its complaint is open, gone once closed.
pub(super) fn open_entry(
    table: &str,
    survey: &SurveyId,
    open: bool,
) -> PortResult<TransactWriteItem> {
    let built = if open {
        Put::builder()
            .table_name(table)
            .item(attr::PK, s(REPORT_OPEN))
            .item(attr::SK, s(survey.as_str()))
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
        let mut cells = Cells::new();
        let mut month = from.with_day(1).expect("every month has a 1st");
        while month <= to {
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
                    break;
                }
            }
            month = month
                .checked_add_months(chrono::Months::new(1))
                .expect("dates before year 262143");
        }
        Ok(cells)
    }

    /// Surveys whose complaint is open, as the counters last saw it (the dashboard's list).
    pub async fn report_open_complaints(&self) -> PortResult<Vec<SurveyId>> {
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
                    out.push(SurveyId::parse(id).map_err(|e| {
                        PortError::Permanent(format!("open complaint {id:?}: {e}"))
                    })?);
                }
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(out);
            }
        }
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
