// segmentio/kafka-go 0.2.1, as Debian packages it (golang-github-segmentio-kafka-go-dev), against a
// Runnel broker: it writes with Produce v2 (message format v1) and reads with Fetch v2, so every
// write and read here goes through the broker's up- and down-conversion. Checks: writes and reads
// with every codec kafka-go has (none, gzip, snappy, lz4), keys and timestamps, seek (SetOffset),
// lag (ReadLag, Lag), ListOffsets (ReadOffsets), and a consumer group that commits and resumes.
// Built offline in GOPATH mode: GO111MODULE=off GOPATH=/usr/share/gocode go build.
// Usage: kafkago BOOTSTRAP PREFIX. Prints one line per check and OK; exits 1 on the first mismatch.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	kafka "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/gzip"
	"github.com/segmentio/kafka-go/lz4"
	"github.com/segmentio/kafka-go/snappy"
)

const count = 200

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func createTopic(bootstrap, topic string) {
	conn, err := kafka.Dial("tcp", bootstrap)
	if err != nil {
		fail("dial: %v", err)
	}
	defer conn.Close()
	if err := conn.CreateTopics(kafka.TopicConfig{Topic: topic, NumPartitions: 1, ReplicationFactor: 1}); err != nil {
		fail("create %s: %v", topic, err)
	}
}

func write(bootstrap, topic string, codec kafka.CompressionCodec, base time.Time) {
	writer := kafka.NewWriter(kafka.WriterConfig{Brokers: []string{bootstrap}, Topic: topic, CompressionCodec: codec, BatchSize: 50, BatchTimeout: 10 * time.Millisecond})
	messages := make([]kafka.Message, count)
	for index := range messages {
		messages[index] = kafka.Message{Key: []byte(fmt.Sprintf("key-%d", index)), Value: []byte(fmt.Sprintf("value-%d|value-%d", index, index)), Time: base.Add(time.Duration(index) * time.Millisecond)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := writer.WriteMessages(ctx, messages...); err != nil {
		fail("%s: write: %v", topic, err)
	}
	if err := writer.Close(); err != nil {
		fail("%s: close writer: %v", topic, err)
	}
}

func readAll(bootstrap, topic string, base time.Time) {
	reader := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bootstrap}, Topic: topic, Partition: 0, MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 100 * time.Millisecond})
	defer reader.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for index := 0; index < count; index++ {
		message, err := reader.ReadMessage(ctx)
		if err != nil {
			fail("%s: read %d: %v", topic, index, err)
		}
		if message.Offset != int64(index) || string(message.Key) != fmt.Sprintf("key-%d", index) || string(message.Value) != fmt.Sprintf("value-%d|value-%d", index, index) {
			fail("%s: message %d is offset %d key %q value %q", topic, index, message.Offset, message.Key, message.Value)
		}
		if want := base.Add(time.Duration(index) * time.Millisecond); !message.Time.Equal(want.Truncate(time.Millisecond)) {
			fail("%s: message %d time %v, want %v", topic, index, message.Time, want)
		}
	}
	// Seek back, then check the lag from there.
	if err := reader.SetOffset(150); err != nil {
		fail("%s: SetOffset: %v", topic, err)
	}
	message, err := reader.ReadMessage(ctx)
	if err != nil || message.Offset != 150 {
		fail("%s: after SetOffset(150) read offset %d (%v)", topic, message.Offset, err)
	}
	lag, err := reader.ReadLag(ctx)
	if err != nil || lag != count-151 {
		fail("%s: ReadLag %d (%v), want %d", topic, lag, err, count-151)
	}
	fmt.Printf("%s: %d messages, seek ok, lag %d\n", topic, count, lag)
}

func offsets(bootstrap, topic string) {
	conn, err := kafka.DialLeader(context.Background(), "tcp", bootstrap, topic, 0)
	if err != nil {
		fail("dial leader: %v", err)
	}
	defer conn.Close()
	first, last, err := conn.ReadOffsets()
	if err != nil || first != 0 || last != count {
		fail("%s: ReadOffsets %d %d (%v)", topic, first, last, err)
	}
	// Conn-level seek and a batch read (Fetch v2 on the connection itself).
	if _, err := conn.Seek(10, kafka.SeekAbsolute); err != nil {
		fail("%s: Conn.Seek: %v", topic, err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	batch := conn.ReadBatch(1, 1<<20)
	message, err := batch.ReadMessage()
	batch.Close()
	if err != nil || message.Offset != 10 {
		fail("%s: Conn batch read offset %d (%v)", topic, message.Offset, err)
	}
	fmt.Printf("%s: offsets %d..%d, conn seek ok\n", topic, first, last)
}

func group(bootstrap, topic, id string, commitUpTo int) int64 {
	reader := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bootstrap}, GroupID: id, Topic: topic, MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 100 * time.Millisecond,
		SessionTimeout: 10 * time.Second, HeartbeatInterval: time.Second})
	defer reader.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	message, err := reader.FetchMessage(ctx)
	if err != nil {
		fail("group %s: first fetch: %v", id, err)
	}
	first := message.Offset
	for message.Offset < int64(commitUpTo-1) {
		if message, err = reader.FetchMessage(ctx); err != nil {
			fail("group %s: fetch: %v", id, err)
		}
	}
	if commitUpTo > 0 {
		if err := reader.CommitMessages(ctx, message); err != nil {
			fail("group %s: commit: %v", id, err)
		}
	}
	return first
}

func main() {
	bootstrap, prefix := os.Args[1], os.Args[2]
	codecs := []struct {
		name  string
		codec kafka.CompressionCodec
	}{{"none", nil}, {"gzip", gzip.NewCompressionCodec()}, {"snappy", snappy.NewCompressionCodec()}, {"lz4", lz4.NewCompressionCodec()}}
	base := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	for _, entry := range codecs {
		topic := prefix + "-" + entry.name
		createTopic(bootstrap, topic)
		write(bootstrap, topic, entry.codec, base)
		readAll(bootstrap, topic, base)
		offsets(bootstrap, topic)
	}
	topic := prefix + "-gzip"
	if first := group(bootstrap, topic, prefix+"-group", 100); first != 0 {
		fail("group started at %d, want 0", first)
	}
	if resumed := group(bootstrap, topic, prefix+"-group", 0); resumed != 100 {
		fail("group resumed at %d, want 100", resumed)
	}
	fmt.Println("group: resumed at 100")
	fmt.Println("OK")
}
