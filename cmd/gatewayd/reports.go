package main

import (
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/configs"
	"github.com/journeygate/gateway/reports"
)

// buildReports makes the pre-aggregated reports from reports.* config.
func buildReports(c configs.Reports, rdb redis.UniversalClient, log *zap.Logger) (*reports.Reports, error) {
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return nil, fmt.Errorf("reports.timezone: %w", err)
	}
	return reports.New(rdb, reports.Options{Location: loc, Currency: c.Currency, MessageCost: c.MessageCost, Log: log})
}
