use super::*;

fn request(queries: &[(&str, &str, &str)]) -> Vec<u8> {
    let mut e = minicbor::Encoder::new(Vec::new());
    e.begin_map().unwrap();
    e.str("MetricDataQueries")
        .unwrap()
        .array(queries.len() as u64)
        .unwrap();
    for (id, ns, name) in queries {
        e.begin_map().unwrap();
        e.str("Id").unwrap().str(id).unwrap();
        e.str("MetricStat").unwrap().begin_map().unwrap();
        e.str("Metric").unwrap().begin_map().unwrap();
        e.str("Namespace").unwrap().str(ns).unwrap();
        e.str("MetricName").unwrap().str(name).unwrap();
        e.end().unwrap();
        e.str("Period").unwrap().u32(300).unwrap();
        e.str("Stat").unwrap().str("Average").unwrap();
        e.end().unwrap();
        e.end().unwrap();
    }
    e.str("StartTime")
        .unwrap()
        .tag(Tag::from(IanaTag::Timestamp))
        .unwrap()
        .f64(1.0e9)
        .unwrap();
    e.str("EndTime")
        .unwrap()
        .tag(Tag::from(IanaTag::Timestamp))
        .unwrap()
        .f64(1.1e9)
        .unwrap();
    e.end().unwrap();
    e.into_writer()
}

#[test]
fn reads_queries_with_indefinite_maps() {
    let q = queries(&request(&[("bounce", SES_NAMESPACE, BOUNCE_RATE)])).unwrap();
    assert_eq!(
        q,
        [Query {
            id: "bounce".into(),
            namespace: SES_NAMESPACE.into(),
            metric: BOUNCE_RATE.into()
        }]
    );
}

#[test]
fn indefinite_length_text_is_text() {
    let mut e = minicbor::Encoder::new(Vec::new());
    e.begin_map().unwrap();
    e.begin_str().unwrap().str("Id").unwrap().end().unwrap();
    e.begin_str()
        .unwrap()
        .str("boun")
        .unwrap()
        .str("ce")
        .unwrap()
        .end()
        .unwrap();
    e.end().unwrap();
    let item = decode(&e.into_writer()).unwrap();
    assert_eq!(item.get("Id").and_then(Item::text), Some("bounce"));
}

#[test]
fn refuses_what_cloudwatch_refuses() {
    assert!(queries(b"\xff").is_err());
    assert!(queries(&[0xa0]).unwrap_err().contains("StartTime"));
    let mut trailing = request(&[]);
    trailing.push(0);
    assert!(queries(&trailing).is_err());
    assert!(queries(&request(&[("Bad", SES_NAMESPACE, BOUNCE_RATE)])).is_err());
    // Nesting far beyond what a request needs.
    let deep: Vec<u8> = std::iter::repeat_n(0x81, 100).chain([0x00]).collect();
    assert!(decode(&deep).unwrap_err().contains("deeply"));
}

#[test]
fn answers_each_query_in_order_with_the_rate_it_asks_for() {
    let body = request(&[
        ("complaint", SES_NAMESPACE, COMPLAINT_RATE),
        ("other", "AWS/EC2", "CPUUtilization"),
        ("bounce", SES_NAMESPACE, BOUNCE_RATE),
    ]);
    let step = CloudWatchStep::Rates {
        bounce_rate: Some(0.03),
        complaint_rate: None,
        age_secs: 0,
        sends: None,
    };
    let resp = answer(&step, &body);
    assert_eq!(resp.status(), 200);
    let bytes = futures_body(resp);
    let item = decode(&bytes).unwrap();
    let Some(Item::Array(results)) = item.get("MetricDataResults") else {
        panic!("{item:?}");
    };
    let ids: Vec<&str> = results.iter().filter_map(|r| r.get("Id")?.text()).collect();
    assert_eq!(ids, ["complaint", "other", "bounce"]);
    assert_eq!(results[0].get("Values"), Some(&Item::Array(vec![])));
    assert_eq!(
        results[2].get("Values"),
        Some(&Item::Array(vec![Item::Number(0.03)]))
    );
}

fn futures_body(resp: Response<Full<Bytes>>) -> Vec<u8> {
    use http_body_util::BodyExt as _;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(resp.into_body().collect())
        .unwrap()
        .to_bytes()
        .to_vec()
}
