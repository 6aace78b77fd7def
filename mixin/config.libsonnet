// The mixin's settings. Override any of them:
//
//   (import 'github.com/pinpoint-email-exporter/pinpoint-email-exporter/mixin/mixin.libsonnet') + {
//     _config+:: { pinpointEmailSelector: 'job="email"', bounceRateWarning: 0.03 },
//   }
{
  _config+:: {
    // Selects the exporter's series and the `up` of its scrape jobs in every
    // rule and dashboard query, as node_exporter's nodeExporterSelector.
    pinpointEmailSelector: 'job="pinpoint-email-exporter"',
    // Further label matchers joined to the selector, for example
    // 'cluster="prod", team="mail"'; empty for none.
    extraLabelMatchers: '',
    // What goes between the braces of every selector: the two above.
    pinpointEmailMatchers: std.join(', ', [m for m in [self.pinpointEmailSelector, self.extraLabelMatchers] if m != '']),

    // The labels that tell installs apart: an account is one per value of
    // these, its AWS account id and its region, so two installs (clusters,
    // namespaces, jobs) that name a target alike never merge. Labels the
    // series lack are empty, which is one value; as kubernetes-mixin's
    // clusterLabel.
    groupLabels: ['cluster', 'namespace', 'job'],
    // The target label that tells the shards of an install apart
    // (deploy/kubernetes/shards sets it from the pod name); absent for an
    // install of one exporter.
    shardLabel: 'shard',
    // How long the rules hold what they last knew of an account whose exporter
    // is gone (no scrape target left) and not replaced: after that, its
    // alerts resolve. While an exporter is scraped, up or down, or its polls
    // fail, the hold has no end.
    holdFor: '6h',

    // Share of the 24-hour sending quota used: PinpointEmailQuotaUsageHigh
    // (warning) and PinpointEmailQuotaNearlyExhausted (critical).
    quotaUsageWarning: 0.8,
    quotaUsageCritical: 0.95,
    // PinpointEmailQuotaExhaustionPredicted: the quota is forecast to run out
    // within this many hours, at the sending rate of the last hour.
    quotaExhaustionHorizonHours: 4,

    // Reputation rates (the reputation collector). AWS puts an account under
    // review at a bounce rate of 5 % and a complaint rate of 0.1 %, and
    // recommends a bounce rate under 2 %. The critical alerts fire before AWS
    // acts (at 4 % and 0.08 %, after their `for`); the complaint warning is
    // at half of AWS's review threshold.
    bounceRateWarning: 0.02,
    bounceRateCritical: 0.04,
    complaintRateWarning: 0.0005,
    complaintRateCritical: 0.0008,

    // PinpointEmailDataStale: seconds since the newest successful GetAccount
    // call of any exporter.
    dataStaleAfterSeconds: 1800,
    // PinpointEmailReputationDataStale: age of the newest bounce-rate datapoint
    // of an account that is sending.
    reputationDataStaleAfterSeconds: 6 * 3600,
    // A region sends when it has production access, sent mail in the last 24
    // hours, or has a CloudWatch reputation datapoint of the last this many
    // seconds. PinpointEmailInSandbox fires only for regions that send.
    activityWindowSeconds: 24 * 3600,
    // PinpointEmailThrottled: share of calls throttled over the window, and
    // the fewest throttled calls in it (one call of few is not a share).
    throttledRatio: 0.25,
    throttledWindow: '30m',
    throttledMinCalls: 2,
    // PinpointEmailDedicatedIpWarmupStuck: a warm-up percentage that has not
    // moved for this long.
    warmupStuckAfter: '3d',

    // How long each alert's condition must hold before it fires. An alert
    // missing here fires at the first evaluation that matches.
    alertFor: {
      PinpointEmailSendingDisabled: '5m',
      PinpointEmailQuotaUsageHigh: '5m',
      PinpointEmailQuotaNearlyExhausted: '2m',
      PinpointEmailQuotaExhaustionPredicted: '15m',
      PinpointEmailInSandbox: '15m',
      PinpointEmailBounceRateHigh: '15m',
      PinpointEmailBounceRateCritical: '5m',
      PinpointEmailComplaintRateHigh: '15m',
      PinpointEmailComplaintRateCritical: '5m',
      PinpointEmailReputationDataStale: '30m',
      PinpointEmailReputationPollsFailing: '30m',
      PinpointEmailDedicatedIpWarmupStuck: '1h',
      PinpointEmailIdentityVerificationFailed: '15m',
      PinpointEmailIdentityDkimFailing: '15m',
      PinpointEmailIdentityMailFromFailing: '15m',
      PinpointEmailIdentitySendingDisabled: '5m',
      PinpointEmailIdentityPollsFailing: '30m',
      PinpointEmailExporterDown: '5m',
      PinpointEmailExporterAbsent: '15m',
      PinpointEmailPollsFailing: '15m',
      PinpointEmailDataStale: '5m',
      PinpointEmailThrottled: '15m',
      PinpointEmailEnforcementStatusUnexpected: '5m',
      PinpointEmailShardMissing: '15m',
      PinpointEmailDiscoveryFailing: '30m',
    },
    // PinpointEmailQuotaNearlyExhausted keeps firing this long after usage
    // dips under the threshold, so that usage moving around it keeps one alert.
    quotaNearlyExhaustedKeepFiringFor: '15m',

    // Each alert's runbook_url: %s is the alert name in lower case, the anchor
    // of its section in docs/runbooks.md. Point it at where you host the docs.
    runbookURLPattern: 'https://github.com/pinpoint-email-exporter/pinpoint-email-exporter/blob/main/docs/runbooks.md#%s',

    // The dashboard.
    dashboardTitle: 'Pinpoint Email / SES accounts',
    dashboardUID: 'pinpoint-email-exporter',
    dashboardTags: ['aws', 'email', 'ses', 'pinpoint'],
  },
}
