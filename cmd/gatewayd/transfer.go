package main

import (
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/channels/sms"
	"github.com/journeygate/gateway/configs"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/contacts/transfer"
	"github.com/journeygate/gateway/gateway"
	"github.com/journeygate/gateway/outreach"
)

// buildTransfer wires contact imports and exports: phone numbers are
// normalised the way the SMS channel spells them, audiences resolve like
// campaign audiences, and the jobs run on the low-priority queue so a big
// import never delays a customer's reply. The observer (the reports)
// counts imported contacts per batch.
func buildTransfer(cfg configs.Config, rdb redis.UniversalClient, store *contacts.Store, observer transfer.Observer, log *zap.Logger) (*transfer.Imports, *transfer.Exports, error) {
	imports, err := transfer.NewImports(rdb, store, transfer.ImportOptions{NormalizePhone: sms.NormalizePhone,
		UploadLimit: cfg.Transfer.UploadLimit, Retention: cfg.Transfer.Retention, Workers: cfg.Transfer.Workers,
		Queue: outreach.QueueLow, Observer: observer, Log: log.Named("imports")})
	if err != nil {
		return nil, nil, err
	}
	exports, err := transfer.NewExports(rdb, store, transfer.ExportOptions{Resolve: gateway.AudienceResolver(store),
		Retention: cfg.Transfer.Retention, Queue: outreach.QueueLow, Log: log.Named("exports")})
	if err != nil {
		return nil, nil, err
	}
	return imports, exports, nil
}
