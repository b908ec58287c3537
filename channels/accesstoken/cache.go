package accesstoken

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/cache"
)

// Cache adapts go-redis v9 to the SDK's cache.Cache (its own Redis cache
// uses go-redis v8). The SDK keeps tickets and other short-lived values in
// it; values are stored as strings, which is all the SDK puts there.
type Cache struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ cache.ContextCache = (*Cache)(nil)

// NewCache stores the SDK's values under "{wxcache}:" + prefix + key.
func NewCache(rdb redis.UniversalClient, prefix string) *Cache {
	return &Cache{rdb: rdb, prefix: "{wxcache}:" + prefix}
}

func (c *Cache) Get(key string) interface{} { return c.GetContext(context.Background(), key) }

func (c *Cache) Set(key string, val interface{}, timeout time.Duration) error {
	return c.SetContext(context.Background(), key, val, timeout)
}

func (c *Cache) IsExist(key string) bool { return c.IsExistContext(context.Background(), key) }

func (c *Cache) Delete(key string) error { return c.DeleteContext(context.Background(), key) }

// GetContext returns the string or nil, as the SDK expects of a miss.
func (c *Cache) GetContext(ctx context.Context, key string) interface{} {
	v, err := c.rdb.Get(ctx, c.prefix+key).Result()
	if err != nil {
		return nil
	}
	return v
}

func (c *Cache) SetContext(ctx context.Context, key string, val interface{}, timeout time.Duration) error {
	s, ok := val.(string)
	if !ok {
		return errors.New("accesstoken: the cache stores strings only")
	}
	return c.rdb.Set(ctx, c.prefix+key, s, timeout).Err()
}

func (c *Cache) IsExistContext(ctx context.Context, key string) bool {
	n, err := c.rdb.Exists(ctx, c.prefix+key).Result()
	return err == nil && n == 1
}

func (c *Cache) DeleteContext(ctx context.Context, key string) error {
	return c.rdb.Del(ctx, c.prefix+key).Err()
}
