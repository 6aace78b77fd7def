// The dashboard, with a `datasource` variable for the Prometheus (so that it
// works imported by hand and provisioned from files alike), every query's
// selector and the quota thresholds taken from the config:
// %(m)s in an expr or query is the selector's matchers (dashboards.libsonnet).
function(c)
{
  "__requires": [
    {
      "type": "grafana",
      "id": "grafana",
      "name": "Grafana",
      "version": "10.0.0"
    },
    {
      "type": "datasource",
      "id": "prometheus",
      "name": "Prometheus",
      "version": "1.0.0"
    },
    {
      "type": "panel",
      "id": "state-timeline",
      "name": "State timeline",
      "version": ""
    },
    {
      "type": "panel",
      "id": "stat",
      "name": "Stat",
      "version": ""
    },
    {
      "type": "panel",
      "id": "bargauge",
      "name": "Bar gauge",
      "version": ""
    },
    {
      "type": "panel",
      "id": "timeseries",
      "name": "Time series",
      "version": ""
    }
  ],
  "annotations": {
    "list": [
      {
        "builtIn": 1,
        "datasource": {
          "type": "grafana",
          "uid": "-- Grafana --"
        },
        "enable": true,
        "hide": true,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard"
      },
      {
        "datasource": {
          "type": "prometheus",
          "uid": "${datasource}"
        },
        "enable": true,
        "iconColor": "red",
        "name": "Enforcement status changes",
        "target": {
          "refId": "Anno",
          "expr": "label_replace(\n  max by (account, aws_region, condition) (account_aws_region:pinpoint_email_account_condition:held{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\", condition=~\"shutdown|probation|unexpected_status\"} > 0)\n  unless max by (account, aws_region, condition) (account_aws_region:pinpoint_email_account_condition:held{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\", condition=~\"shutdown|probation|unexpected_status\"} offset 2m > 0),\n  \"change\", \"began\", \"\", \"\"\n)\nor\nlabel_replace(\n  max by (account, aws_region, condition) (account_aws_region:pinpoint_email_account_condition:held{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\", condition=~\"shutdown|probation|unexpected_status\"} == 0) + 1\n  and max by (account, aws_region, condition) (account_aws_region:pinpoint_email_account_condition:held{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\", condition=~\"shutdown|probation|unexpected_status\"} offset 2m > 0),\n  \"change\", \"ended\", \"\", \"\"\n)",
          "step": "60s",
          "titleFormat": "{{condition}} {{change}}",
          "textFormat": "{{account}} in {{aws_region}}: {{condition}} {{change}} (as the alert rules hold it)",
          "tagKeys": "account,aws_region,condition,change",
          "useValueForTime": false
        }
      }
    ]
  },
  "description": "Sending status, quota and enforcement status of Amazon Pinpoint Email / SES accounts, from pinpoint-email-exporter.",
  "editable": true,
  "graphTooltip": 1,
  "links": [],
  "liveNow": false,
  "panels": [
    {
      "id": 1,
      "type": "row",
      "title": "Account status",
      "collapsed": false,
      "gridPos": {
        "x": 0,
        "y": 0,
        "w": 24,
        "h": 1
      },
      "panels": []
    },
    {
      "id": 2,
      "type": "state-timeline",
      "title": "Enforcement status",
      "description": "The enforcement status the alert rules hold, over time, of each account-region that had one other than HEALTHY within holdFor: PROBATION, SHUTDOWN, or OTHER for a status AWS added; HEALTHY once a successful poll showed it gone. Healthy account-regions have no row, so the timeline stays short and cheap at thousands of them; it reads what the alerts read, and so holds through failing polls and outages as they do.",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 0,
        "y": 1,
        "w": 16,
        "h": 7
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          },
          "expr": "max by (account, aws_region) (\n  account_aws_region:pinpoint_email_account_condition:held{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\", condition=\"probation\"}\n  or 2 * account_aws_region:pinpoint_email_account_condition:held{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\", condition=\"shutdown\"}\n  or 3 * account_aws_region:pinpoint_email_account_condition:held{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\", condition=\"unexpected_status\"}\n)",
          "legendFormat": "{{account}} {{aws_region}}"
        }
      ],
      "fieldConfig": {
        "defaults": {
          "color": {
            "mode": "thresholds"
          },
          "mappings": [
            {
              "type": "value",
              "options": {
                "0": {
                  "text": "HEALTHY",
                  "color": "green",
                  "index": 0
                },
                "1": {
                  "text": "PROBATION",
                  "color": "orange",
                  "index": 1
                },
                "2": {
                  "text": "SHUTDOWN",
                  "color": "red",
                  "index": 2
                },
                "3": {
                  "text": "OTHER",
                  "color": "purple",
                  "index": 3
                },
                "4": {
                  "text": "UNKNOWN",
                  "color": "text",
                  "index": 4
                }
              }
            }
          ],
          "thresholds": {
            "mode": "absolute",
            "steps": [
              {
                "color": "green",
                "value": null
              },
              {
                "color": "orange",
                "value": 1
              },
              {
                "color": "red",
                "value": 2
              },
              {
                "color": "purple",
                "value": 3
              }
            ]
          }
        },
        "overrides": []
      },
      "options": {
        "showValue": "auto",
        "mergeValues": true,
        "rowHeight": 0.9,
        "legend": {
          "showLegend": false,
          "displayMode": "list",
          "placement": "bottom"
        },
        "tooltip": {
          "mode": "single",
          "sort": "none"
        }
      }
    },
    {
      "id": 27,
      "type": "table",
      "title": "Held by the alert rules",
      "description": "Every condition the alert rules hold now, worst first: what the alerts act on (the records of mixin/alerts), with its value (1, or the ratio of a rate or quota). Empty when every account-region is healthy.",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 16,
        "y": 1,
        "w": 8,
        "h": 7
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          },
          "expr": "sort_desc(max by (account, aws_region, condition) (account_aws_region:pinpoint_email_account_condition:held{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\"} > 0 or account_aws_region:pinpoint_email_reputation_condition:held{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\"} > 0))",
          "format": "table",
          "instant": true
        }
      ],
      "fieldConfig": {
        "defaults": {},
        "overrides": []
      },
      "options": {
        "showHeader": true
      },
      "transformations": [
        {
          "id": "organize",
          "options": {
            "excludeByName": {
              "Time": true
            }
          }
        }
      ]
    },
    {
      "id": 3,
      "type": "stat",
      "title": "Sending disabled",
      "description": "Account-regions whose SendingEnabled is false: no email goes out from them.",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 0,
        "y": 8,
        "w": 6,
        "h": 5
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          },
          "expr": "count(min by (account, aws_region) (pinpoint_email_sending_enabled{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\"}) == 0) or vector(0)",
          "instant": true
        }
      ],
      "fieldConfig": {
        "defaults": {
          "color": {
            "mode": "thresholds"
          },
          "mappings": [],
          "thresholds": {
            "mode": "absolute",
            "steps": [
              {
                "color": "green",
                "value": null
              },
              {
                "color": "red",
                "value": 1
              }
            ]
          }
        },
        "overrides": []
      },
      "options": {
        "colorMode": "background",
        "graphMode": "none",
        "textMode": "value",
        "justifyMode": "auto",
        "orientation": "auto",
        "reduceOptions": {
          "calcs": [
            "lastNotNull"
          ],
          "fields": "",
          "values": false
        }
      }
    },
    {
      "id": 4,
      "type": "stat",
      "title": "In the sandbox",
      "description": "Account-regions without production access (ProductionAccessEnabled false): they can only send to verified identities, 200 emails a day.",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 6,
        "y": 8,
        "w": 6,
        "h": 5
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          },
          "expr": "count(min by (account, aws_region) (pinpoint_email_production_access_enabled{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\"}) == 0) or vector(0)",
          "instant": true
        }
      ],
      "fieldConfig": {
        "defaults": {
          "color": {
            "mode": "thresholds"
          },
          "mappings": [],
          "thresholds": {
            "mode": "absolute",
            "steps": [
              {
                "color": "green",
                "value": null
              },
              {
                "color": "orange",
                "value": 1
              }
            ]
          }
        },
        "overrides": []
      },
      "options": {
        "colorMode": "background",
        "graphMode": "none",
        "textMode": "value",
        "justifyMode": "auto",
        "orientation": "auto",
        "reduceOptions": {
          "calcs": [
            "lastNotNull"
          ],
          "fields": "",
          "values": false
        }
      }
    },
    {
      "id": 5,
      "type": "stat",
      "title": "Auto warm-up off",
      "description": "Account-regions whose dedicated IPs are not warmed up automatically (DedicatedIpAutoWarmupEnabled false).",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 12,
        "y": 8,
        "w": 6,
        "h": 5
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          },
          "expr": "count(max by (account, aws_region) (pinpoint_email_dedicated_ip_auto_warmup_enabled{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\"}) == 0) or vector(0)",
          "instant": true
        }
      ],
      "fieldConfig": {
        "defaults": {
          "color": {
            "mode": "thresholds"
          },
          "mappings": [],
          "thresholds": {
            "mode": "absolute",
            "steps": [
              {
                "color": "green",
                "value": null
              },
              {
                "color": "orange",
                "value": 1
              }
            ]
          }
        },
        "overrides": []
      },
      "options": {
        "colorMode": "background",
        "graphMode": "none",
        "textMode": "value",
        "justifyMode": "auto",
        "orientation": "auto",
        "reduceOptions": {
          "calcs": [
            "lastNotNull"
          ],
          "fields": "",
          "values": false
        }
      }
    },
    {
      "id": 6,
      "type": "stat",
      "title": "Polls failing",
      "description": "Account-regions whose last GetAccount call failed at every exporter polling them.",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 18,
        "y": 8,
        "w": 6,
        "h": 5
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          },
          "expr": "count(max by (account, aws_region) (pinpoint_email_up{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\"}) == 0) or vector(0)",
          "instant": true
        }
      ],
      "fieldConfig": {
        "defaults": {
          "color": {
            "mode": "thresholds"
          },
          "mappings": [],
          "thresholds": {
            "mode": "absolute",
            "steps": [
              {
                "color": "green",
                "value": null
              },
              {
                "color": "red",
                "value": 1
              }
            ]
          }
        },
        "overrides": []
      },
      "options": {
        "colorMode": "background",
        "graphMode": "none",
        "textMode": "value",
        "justifyMode": "auto",
        "orientation": "auto",
        "reduceOptions": {
          "calcs": [
            "lastNotNull"
          ],
          "fields": "",
          "values": false
        }
      }
    },
    {
      "id": 23,
      "type": "row",
      "title": "Reputation and dedicated IPs (reputation and dedicated-IPs collectors)",
      "collapsed": false,
      "gridPos": {
        "x": 0,
        "y": 13,
        "w": 24,
        "h": 1
      },
      "panels": []
    },
    {
      "id": 24,
      "type": "timeseries",
      "title": "Bounce rate",
      "description": "The bounce rate CloudWatch holds for each account (AWS/SES Reputation.BounceRate), against AWS's thresholds: 2 % recommended (orange), 5 % review (red), 10 % sending paused (dark red).",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 0,
        "y": 14,
        "w": 12,
        "h": 7
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          },
          "expr": "max by (account, aws_region) (pinpoint_email_reputation_bounce_ratio{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\"})",
          "legendFormat": "{{account}} {{aws_region}}"
        }
      ],
      "fieldConfig": {
        "defaults": {
          "unit": "percentunit",
          "min": 0,
          "color": {
            "mode": "palette-classic"
          },
          "thresholds": {
            "mode": "absolute",
            "steps": [
              {
                "color": "green",
                "value": null
              },
              {
                "color": "orange",
                "value": 0.02
              },
              {
                "color": "red",
                "value": 0.05
              },
              {
                "color": "dark-red",
                "value": 0.1
              }
            ]
          },
          "custom": {
            "fillOpacity": 0,
            "thresholdsStyle": {
              "mode": "line"
            }
          }
        },
        "overrides": []
      },
      "options": {
        "legend": {
          "showLegend": true,
          "displayMode": "list",
          "placement": "bottom",
          "calcs": []
        },
        "tooltip": {
          "mode": "multi",
          "sort": "desc"
        }
      }
    },
    {
      "id": 25,
      "type": "timeseries",
      "title": "Complaint rate",
      "description": "The complaint rate CloudWatch holds for each account (AWS/SES Reputation.ComplaintRate), against AWS's thresholds: 0.05 % recommended (orange), 0.1 % review (red), 0.5 % sending paused (dark red).",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 12,
        "y": 14,
        "w": 12,
        "h": 7
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          },
          "expr": "max by (account, aws_region) (pinpoint_email_reputation_complaint_ratio{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\"})",
          "legendFormat": "{{account}} {{aws_region}}"
        }
      ],
      "fieldConfig": {
        "defaults": {
          "unit": "percentunit",
          "min": 0,
          "color": {
            "mode": "palette-classic"
          },
          "thresholds": {
            "mode": "absolute",
            "steps": [
              {
                "color": "green",
                "value": null
              },
              {
                "color": "orange",
                "value": 0.0005
              },
              {
                "color": "red",
                "value": 0.001
              },
              {
                "color": "dark-red",
                "value": 0.005
              }
            ]
          },
          "custom": {
            "fillOpacity": 0,
            "thresholdsStyle": {
              "mode": "line"
            }
          }
        },
        "overrides": []
      },
      "options": {
        "legend": {
          "showLegend": true,
          "displayMode": "list",
          "placement": "bottom",
          "calcs": []
        },
        "tooltip": {
          "mode": "multi",
          "sort": "desc"
        }
      }
    },
    {
      "id": 26,
      "type": "table",
      "title": "Dedicated IP warm-up",
      "description": "Each dedicated IP address with its pool and warm-up progress (WarmupPercentage); managed pools, which AWS warms up itself, have none.",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 0,
        "y": 21,
        "w": 24,
        "h": 7
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          },
          "expr": "max by (account, aws_region, pool, ip) (pinpoint_email_dedicated_ip_warmup_ratio{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\"})",
          "format": "table",
          "instant": true
        }
      ],
      "fieldConfig": {
        "defaults": {
          "unit": "percentunit",
          "min": 0,
          "max": 1,
          "thresholds": {
            "mode": "absolute",
            "steps": [
              {
                "color": "orange",
                "value": null
              },
              {
                "color": "green",
                "value": 1
              }
            ]
          }
        },
        "overrides": [
          {
            "matcher": {
              "id": "byName",
              "options": "Value"
            },
            "properties": [
              {
                "id": "displayName",
                "value": "Warm-up"
              },
              {
                "id": "custom.cellOptions",
                "value": {
                  "type": "gauge",
                  "mode": "basic"
                }
              }
            ]
          }
        ]
      },
      "options": {
        "showHeader": true,
        "sortBy": [
          {
            "displayName": "Warm-up",
            "desc": false
          }
        ]
      },
      "transformations": [
        {
          "id": "organize",
          "options": {
            "excludeByName": {
              "Time": true
            }
          }
        }
      ]
    },
    {
      "id": 7,
      "type": "row",
      "title": "Quota",
      "collapsed": false,
      "gridPos": {
        "x": 0,
        "y": 28,
        "w": 24,
        "h": 1
      },
      "panels": []
    },
    {
      "id": 8,
      "type": "bargauge",
      "title": "Quota used",
      "description": "Emails sent in the last 24 hours divided by the 24-hour quota. Absent for unlimited quotas.",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 0,
        "y": 29,
        "w": 8,
        "h": 8
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          },
          "expr": "max by (account, aws_region) (pinpoint_email_send_quota_used_ratio{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\"})",
          "legendFormat": "{{account}} {{aws_region}}",
          "instant": true
        }
      ],
      "fieldConfig": {
        "defaults": {
          "unit": "percentunit",
          "min": 0,
          "max": 1,
          "color": {
            "mode": "thresholds"
          },
          "thresholds": {
            "mode": "absolute",
            "steps": [
              {
                "color": "green",
                "value": null
              },
              {
                "color": "orange",
                "value": c.quotaUsageWarning
              },
              {
                "color": "red",
                "value": c.quotaUsageCritical
              }
            ]
          }
        },
        "overrides": []
      },
      "options": {
        "displayMode": "gradient",
        "orientation": "horizontal",
        "showUnfilled": true,
        "reduceOptions": {
          "calcs": [
            "lastNotNull"
          ],
          "fields": "",
          "values": false
        }
      }
    },
    {
      "id": 9,
      "type": "timeseries",
      "title": "Sent in 24 hours vs quota",
      "description": "SentLast24Hours against Max24HourSend (unlimited quotas, -1, are not drawn).",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 8,
        "y": 29,
        "w": 16,
        "h": 8
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          },
          "expr": "max by (account, aws_region) (pinpoint_email_send_quota_sent_emails{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\"})",
          "legendFormat": "sent {{account}} {{aws_region}}"
        },
        {
          "refId": "B",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          },
          "expr": "min by (account, aws_region) (pinpoint_email_send_quota_max_emails{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\"}) < +Inf",
          "legendFormat": "quota {{account}} {{aws_region}}"
        }
      ],
      "fieldConfig": {
        "defaults": {
          "unit": "short",
          "min": 0,
          "custom": {
            "fillOpacity": 10
          }
        },
        "overrides": [
          {
            "matcher": {
              "id": "byRegexp",
              "options": "quota.*"
            },
            "properties": [
              {
                "id": "custom.lineStyle",
                "value": {
                  "fill": "dash",
                  "dash": [
                    10,
                    10
                  ]
                }
              },
              {
                "id": "custom.fillOpacity",
                "value": 0
              }
            ]
          }
        ]
      },
      "options": {
        "legend": {
          "showLegend": true,
          "displayMode": "list",
          "placement": "bottom",
          "calcs": []
        },
        "tooltip": {
          "mode": "multi",
          "sort": "desc"
        }
      }
    },
    {
      "id": 10,
      "type": "timeseries",
      "title": "Maximum send rate",
      "description": "MaxSendRate: the most emails per second the account may send.",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 0,
        "y": 37,
        "w": 12,
        "h": 7
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          },
          "expr": "min by (account, aws_region) (pinpoint_email_send_quota_max_emails_per_second{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\"})",
          "legendFormat": "{{account}} {{aws_region}}"
        }
      ],
      "fieldConfig": {
        "defaults": {
          "unit": "short",
          "min": 0,
          "custom": {
            "fillOpacity": 0
          }
        },
        "overrides": []
      },
      "options": {
        "legend": {
          "showLegend": true,
          "displayMode": "list",
          "placement": "bottom",
          "calcs": []
        },
        "tooltip": {
          "mode": "multi",
          "sort": "desc"
        }
      }
    },
    {
      "id": 11,
      "type": "timeseries",
      "title": "Quota used over time",
      "description": "The share of the 24-hour quota used, over time; thresholds at %g %% and %g %% as in the alerts." % [c.quotaUsageWarning * 100, c.quotaUsageCritical * 100],
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 12,
        "y": 37,
        "w": 12,
        "h": 7
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          },
          "expr": "max by (account, aws_region) (pinpoint_email_send_quota_used_ratio{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\"})",
          "legendFormat": "{{account}} {{aws_region}}"
        }
      ],
      "fieldConfig": {
        "defaults": {
          "unit": "percentunit",
          "min": 0,
          "max": 1,
          "color": {
            "mode": "palette-classic"
          },
          "thresholds": {
            "mode": "absolute",
            "steps": [
              {
                "color": "green",
                "value": null
              },
              {
                "color": "orange",
                "value": c.quotaUsageWarning
              },
              {
                "color": "red",
                "value": c.quotaUsageCritical
              }
            ]
          },
          "custom": {
            "fillOpacity": 0,
            "thresholdsStyle": {
              "mode": "line+area"
            }
          }
        },
        "overrides": []
      },
      "options": {
        "legend": {
          "showLegend": true,
          "displayMode": "list",
          "placement": "bottom",
          "calcs": []
        },
        "tooltip": {
          "mode": "multi",
          "sort": "desc"
        }
      }
    },
    {
      "id": 12,
      "type": "row",
      "title": "Exporter health",
      "collapsed": false,
      "gridPos": {
        "x": 0,
        "y": 44,
        "w": 24,
        "h": 1
      },
      "panels": []
    },
    {
      "id": 13,
      "type": "timeseries",
      "title": "Data age",
      "description": "Time since the last successful GetAccount call. It grows while polls fail; the account values disappear after --poll.stale-after.",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 0,
        "y": 45,
        "w": 8,
        "h": 7
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          },
          "expr": "time() - max by (account, aws_region) (pinpoint_email_last_success_timestamp_seconds{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\"})",
          "legendFormat": "{{account}} {{aws_region}}"
        }
      ],
      "fieldConfig": {
        "defaults": {
          "unit": "s",
          "min": 0,
          "custom": {
            "fillOpacity": 0
          }
        },
        "overrides": []
      },
      "options": {
        "legend": {
          "showLegend": true,
          "displayMode": "list",
          "placement": "bottom",
          "calcs": []
        },
        "tooltip": {
          "mode": "multi",
          "sort": "desc"
        }
      }
    },
    {
      "id": 14,
      "type": "timeseries",
      "title": "Poll errors by reason",
      "description": "Failed GetAccount calls a minute, over the last 5 minutes, by reason: throttled, timeout, network, auth, bad_request, server, invalid_response, other; of every account of the selected regions (from the recording rule aws_region_reason:pinpoint_email_poll_errors:rate5m, which a 7-day view at thousands of account-regions can afford).",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 8,
        "y": 45,
        "w": 8,
        "h": 7
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          },
          "expr": "60 * sum by (reason) (aws_region_reason:pinpoint_email_poll_errors:rate5m{%(m)s, aws_region=~\"$aws_region\"})",
          "legendFormat": "{{reason}}"
        }
      ],
      "fieldConfig": {
        "defaults": {
          "unit": "short",
          "decimals": 1,
          "min": 0,
          "custom": {
            "fillOpacity": 20,
            "drawStyle": "bars",
            "stacking": {
              "mode": "normal",
              "group": "A"
            }
          }
        },
        "overrides": []
      },
      "options": {
        "legend": {
          "showLegend": true,
          "displayMode": "list",
          "placement": "bottom",
          "calcs": []
        },
        "tooltip": {
          "mode": "multi",
          "sort": "desc"
        }
      }
    },
    {
      "id": 15,
      "type": "timeseries",
      "title": "Throttled calls",
      "description": "GetAccount calls AWS answered with TooManyRequestsException; the exporter backs off after each.",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 16,
        "y": 45,
        "w": 8,
        "h": 7
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          },
          "expr": "sum by (account, aws_region) (increase(pinpoint_email_poll_errors_total{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\", reason=\"throttled\"}[$__rate_interval]))",
          "legendFormat": "{{account}} {{aws_region}}"
        }
      ],
      "fieldConfig": {
        "defaults": {
          "unit": "short",
          "min": 0,
          "custom": {
            "fillOpacity": 20,
            "drawStyle": "bars"
          }
        },
        "overrides": []
      },
      "options": {
        "legend": {
          "showLegend": true,
          "displayMode": "list",
          "placement": "bottom",
          "calcs": []
        },
        "tooltip": {
          "mode": "multi",
          "sort": "desc"
        }
      }
    },
    {
      "id": 16,
      "type": "timeseries",
      "title": "GetAccount duration (p90)",
      "description": "90th percentile of the duration of the exporter's GetAccount calls, per region over its accounts (per account too when the exporter runs with --metrics.poll-duration-per-target).",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 0,
        "y": 52,
        "w": 12,
        "h": 7
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          },
          "expr": "histogram_quantile(0.9, sum by (le, aws_region) (rate(pinpoint_email_poll_duration_seconds_bucket{%(m)s, aws_region=~\"$aws_region\"}[$__rate_interval])))",
          "legendFormat": "{{aws_region}}"
        }
      ],
      "fieldConfig": {
        "defaults": {
          "unit": "s",
          "min": 0,
          "custom": {
            "fillOpacity": 0
          }
        },
        "overrides": []
      },
      "options": {
        "legend": {
          "showLegend": true,
          "displayMode": "list",
          "placement": "bottom",
          "calcs": []
        },
        "tooltip": {
          "mode": "multi",
          "sort": "desc"
        }
      }
    },
    {
      "id": 17,
      "type": "stat",
      "title": "Exporter version",
      "description": "Versions of the exporter instances scraped, and how many run each.",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 12,
        "y": 52,
        "w": 12,
        "h": 7
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          },
          "expr": "count by (version, revision) (pinpoint_email_exporter_build_info{%(m)s})",
          "legendFormat": "{{version}} ({{revision}})",
          "instant": true
        }
      ],
      "fieldConfig": {
        "defaults": {
          "unit": "none",
          "color": {
            "mode": "fixed",
            "fixedColor": "text"
          }
        },
        "overrides": []
      },
      "options": {
        "colorMode": "none",
        "graphMode": "none",
        "textMode": "value_and_name",
        "justifyMode": "auto",
        "orientation": "auto",
        "reduceOptions": {
          "calcs": [
            "lastNotNull"
          ],
          "fields": "",
          "values": false
        }
      }
    },
    {
      "type": "row",
      "title": "SES v2 (targets polled with api sesv2 or auto)",
      "collapsed": false,
      "gridPos": {
        "x": 0,
        "y": 59,
        "w": 24,
        "h": 1
      },
      "panels": [],
      "id": 18
    },
    {
      "type": "state-timeline",
      "title": "Production access request",
      "description": "Status of the production access request (SES v2 Details.ReviewDetails.Status): PENDING, FAILED, GRANTED, DENIED, or OTHER for a status AWS adds later.",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 0,
        "y": 60,
        "w": 12,
        "h": 6
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          },
          "expr": "max by (account, aws_region) (pinpoint_email_production_access_review_status{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\", status=\"PENDING\"})\n+ 2 * max by (account, aws_region) (pinpoint_email_production_access_review_status{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\", status=\"FAILED\"})\n+ 3 * max by (account, aws_region) (pinpoint_email_production_access_review_status{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\", status=\"GRANTED\"})\n+ 4 * max by (account, aws_region) (pinpoint_email_production_access_review_status{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\", status=\"DENIED\"})",
          "legendFormat": "{{account}} {{aws_region}}"
        }
      ],
      "fieldConfig": {
        "defaults": {
          "color": {
            "mode": "thresholds"
          },
          "mappings": [
            {
              "type": "value",
              "options": {
                "0": {
                  "text": "OTHER",
                  "color": "purple",
                  "index": 0
                },
                "1": {
                  "text": "PENDING",
                  "color": "blue",
                  "index": 1
                },
                "2": {
                  "text": "FAILED",
                  "color": "orange",
                  "index": 2
                },
                "3": {
                  "text": "GRANTED",
                  "color": "green",
                  "index": 3
                },
                "4": {
                  "text": "DENIED",
                  "color": "red",
                  "index": 4
                }
              }
            }
          ],
          "thresholds": {
            "mode": "absolute",
            "steps": [
              {
                "color": "purple",
                "value": null
              },
              {
                "color": "blue",
                "value": 1
              },
              {
                "color": "orange",
                "value": 2
              },
              {
                "color": "green",
                "value": 3
              },
              {
                "color": "red",
                "value": 4
              }
            ]
          }
        },
        "overrides": []
      },
      "options": {
        "showValue": "auto",
        "mergeValues": true,
        "rowHeight": 0.9,
        "legend": {
          "showLegend": false,
          "displayMode": "list",
          "placement": "bottom"
        },
        "tooltip": {
          "mode": "single",
          "sort": "none"
        }
      },
      "id": 19
    },
    {
      "type": "stat",
      "title": "API in use",
      "description": "The API that answered the last successful poll: pinpoint-email or sesv2 (auto targets switch once Pinpoint Email is gone).",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 12,
        "y": 60,
        "w": 4,
        "h": 6
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          },
          "expr": "max by (account, aws_region, api) (pinpoint_email_api_info{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\"})",
          "legendFormat": "{{account}} {{aws_region}}: {{api}}",
          "instant": true
        }
      ],
      "fieldConfig": {
        "defaults": {
          "color": {
            "mode": "fixed",
            "fixedColor": "text"
          }
        },
        "overrides": []
      },
      "options": {
        "colorMode": "none",
        "graphMode": "none",
        "textMode": "name",
        "justifyMode": "auto",
        "orientation": "auto",
        "reduceOptions": {
          "calcs": [
            "lastNotNull"
          ],
          "fields": "",
          "values": false
        }
      },
      "id": 20
    },
    {
      "type": "stat",
      "title": "Virtual Deliverability Manager",
      "description": "VdmAttributes.VdmEnabled (SES v2).",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 16,
        "y": 60,
        "w": 4,
        "h": 6
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          },
          "expr": "max by (account, aws_region) (pinpoint_email_vdm_enabled{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\"})",
          "legendFormat": "{{account}} {{aws_region}}",
          "instant": true
        }
      ],
      "fieldConfig": {
        "defaults": {
          "color": {
            "mode": "thresholds"
          },
          "mappings": [
            {
              "type": "value",
              "options": {
                "1": {
                  "text": "On",
                  "color": "green",
                  "index": 0
                },
                "0": {
                  "text": "Off",
                  "color": "text",
                  "index": 1
                }
              }
            }
          ],
          "thresholds": {
            "mode": "absolute",
            "steps": [
              {
                "color": "text",
                "value": null
              },
              {
                "color": "green",
                "value": 1
              }
            ]
          }
        },
        "overrides": []
      },
      "options": {
        "colorMode": "background",
        "graphMode": "none",
        "textMode": "value_and_name",
        "justifyMode": "auto",
        "orientation": "auto",
        "reduceOptions": {
          "calcs": [
            "lastNotNull"
          ],
          "fields": "",
          "values": false
        }
      },
      "id": 21
    },
    {
      "type": "stat",
      "title": "Suppression list reasons",
      "description": "Reasons for which the account-level suppression list adds addresses (SES v2 SuppressionAttributes.SuppressedReasons).",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 20,
        "y": 60,
        "w": 4,
        "h": 6
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          },
          "expr": "max by (account, aws_region, reason) (pinpoint_email_suppression_reason_enabled{%(m)s, account=~\"$account\", aws_region=~\"$aws_region\"})",
          "legendFormat": "{{account}} {{aws_region}} {{reason}}",
          "instant": true
        }
      ],
      "fieldConfig": {
        "defaults": {
          "color": {
            "mode": "thresholds"
          },
          "mappings": [
            {
              "type": "value",
              "options": {
                "1": {
                  "text": "On",
                  "color": "green",
                  "index": 0
                },
                "0": {
                  "text": "Off",
                  "color": "orange",
                  "index": 1
                }
              }
            }
          ],
          "thresholds": {
            "mode": "absolute",
            "steps": [
              {
                "color": "orange",
                "value": null
              },
              {
                "color": "green",
                "value": 1
              }
            ]
          }
        },
        "overrides": []
      },
      "options": {
        "colorMode": "background",
        "graphMode": "none",
        "textMode": "value_and_name",
        "justifyMode": "auto",
        "orientation": "auto",
        "reduceOptions": {
          "calcs": [
            "lastNotNull"
          ],
          "fields": "",
          "values": false
        }
      },
      "id": 22
    }
  ],
  "refresh": "1m",
  "schemaVersion": 39,
  "tags": c.dashboardTags,
  "templating": {
    "list": [
      {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "hide": 0,
        "includeAll": false,
        "multi": false,
        "options": [],
        "refresh": 1,
        "regex": "",
        "skipUrlSync": false
      },
    ] + [
      {
        "name": label,
        "label": label,
        "type": "query",
        "datasource": {
          "type": "prometheus",
          "uid": "${datasource}"
        },
        "query": {
          "query": "label_values(up{%(base)s" + std.join("", [", " + l + "=~\"$" + l + "\"" for l in c.groupLabels[:std.find(label, c.groupLabels)[0]]]) + "}, " + label + ")",
          "refId": label
        },
        "refresh": 2,
        "includeAll": true,
        "multi": true,
        "allValue": ".*",
        "sort": 1,
        "current": {
          "selected": true,
          "text": [
            "All"
          ],
          "value": [
            "$__all"
          ]
        },
        "hide": 0,
        "options": [],
        "regex": "",
        "skipUrlSync": false
      }
      for label in c.groupLabels
    ] + [
      {
        "name": "account",
        "label": "Account",
        "type": "query",
        "datasource": {
          "type": "prometheus",
          "uid": "${datasource}"
        },
        "query": {
          "query": "label_values(pinpoint_email_up{%(m)s}, account)",
          "refId": "account"
        },
        "refresh": 2,
        "includeAll": true,
        "multi": true,
        "allValue": ".*",
        "sort": 1,
        "current": {
          "selected": true,
          "text": [
            "All"
          ],
          "value": [
            "$__all"
          ]
        },
        "hide": 0,
        "options": [],
        "regex": "",
        "skipUrlSync": false
      },
      {
        "name": "aws_region",
        "label": "Region",
        "type": "query",
        "datasource": {
          "type": "prometheus",
          "uid": "${datasource}"
        },
        "query": {
          "query": "label_values(pinpoint_email_up{%(m)s, account=~\"$account\"}, aws_region)",
          "refId": "aws_region"
        },
        "refresh": 2,
        "includeAll": true,
        "multi": true,
        "allValue": ".*",
        "sort": 1,
        "current": {
          "selected": true,
          "text": [
            "All"
          ],
          "value": [
            "$__all"
          ]
        },
        "hide": 0,
        "options": [],
        "regex": "",
        "skipUrlSync": false
      }
    ]
  },
  "time": {
    "from": "now-24h",
    "to": "now"
  },
  "timepicker": {},
  "timezone": "",
  "title": c.dashboardTitle,
  "uid": c.dashboardUID,
  "version": 1,
  "weekStart": ""
}
