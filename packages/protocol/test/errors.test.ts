import { describe, expect, it } from "vitest";
import { allErrors, BrookProtocolError, CorruptRecordError, ErrorCode, errorInfo } from "@brook/protocol";

describe("error table", () => {
  it("uses Kafka's codes for Kafka's names", () => {
    expect(ErrorCode.NONE).toBe(0);
    expect(ErrorCode.UNKNOWN_SERVER_ERROR).toBe(-1);
    expect(ErrorCode.OFFSET_OUT_OF_RANGE).toBe(1);
    expect(ErrorCode.CORRUPT_MESSAGE).toBe(2);
    expect(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION).toBe(3);
    expect(ErrorCode.NOT_LEADER_OR_FOLLOWER).toBe(6);
    expect(ErrorCode.REQUEST_TIMED_OUT).toBe(7);
    expect(ErrorCode.MESSAGE_TOO_LARGE).toBe(10);
    expect(ErrorCode.NOT_COORDINATOR).toBe(16);
    expect(ErrorCode.INVALID_TOPIC_EXCEPTION).toBe(17);
    expect(ErrorCode.NOT_ENOUGH_REPLICAS).toBe(19);
    expect(ErrorCode.TOPIC_ALREADY_EXISTS).toBe(36);
    expect(ErrorCode.NOT_CONTROLLER).toBe(41);
    expect(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER).toBe(45);
    expect(ErrorCode.DUPLICATE_SEQUENCE_NUMBER).toBe(46);
    expect(ErrorCode.KAFKA_STORAGE_ERROR).toBe(56);
    expect(ErrorCode.FENCED_LEADER_EPOCH).toBe(74);
    expect(ErrorCode.OFFSET_NOT_AVAILABLE).toBe(78);
    expect(ErrorCode.UNKNOWN_TOPIC_ID).toBe(100);
    expect(ErrorCode.INELIGIBLE_REPLICA).toBe(107);
    expect(ErrorCode.NEW_LEADER_ELECTED).toBe(108);
    expect(ErrorCode.FENCED_MEMBER_EPOCH).toBe(110);
    expect(ErrorCode.STALE_MEMBER_EPOCH).toBe(113);
  });

  it("has unique codes and names, Brook-only codes at 1000 and up", () => {
    const all = allErrors();
    expect(new Set(all.map((e) => e.code)).size).toBe(all.length);
    expect(new Set(all.map((e) => e.name)).size).toBe(all.length);
    for (const e of all) {
      expect(e.message.length).toBeGreaterThan(0);
      expect(e.name).toMatch(/^[A-Z][A-Z0-9_]*$/);
      if (e.code > 120) expect(e.code).toBeGreaterThanOrEqual(1000);
    }
  });

  it("marks leadership errors retriable and stale-metadata, validation errors neither", () => {
    expect(errorInfo(ErrorCode.NOT_LEADER_OR_FOLLOWER)).toMatchObject({ retriable: true, staleMetadata: true });
    expect(errorInfo(ErrorCode.NOT_ENOUGH_REPLICAS)).toMatchObject({ retriable: true, staleMetadata: false });
    expect(errorInfo(ErrorCode.INVALID_TOPIC_EXCEPTION)).toMatchObject({ retriable: false, staleMetadata: false });
  });

  it("describes unknown codes without throwing", () => {
    expect(errorInfo(9999)).toMatchObject({ code: 9999, name: "UNKNOWN_CODE_9999", retriable: false });
  });

  it("builds typed errors from codes", () => {
    const e = BrookProtocolError.fromCode(ErrorCode.NOT_LEADER_OR_FOLLOWER, "partition t-0 is led by broker 2");
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe(6);
    expect(e.errorName).toBe("NOT_LEADER_OR_FOLLOWER");
    expect(e.retriable).toBe(true);
    expect(e.staleMetadata).toBe(true);
    expect(e.message).toBe("NOT_LEADER_OR_FOLLOWER: partition t-0 is led by broker 2");
    const c = new CorruptRecordError("BAD_CRC", "mismatch");
    expect(c).toBeInstanceOf(BrookProtocolError);
    expect(c.code).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(c.reason).toBe("BAD_CRC");
    expect(c.name).toBe("CorruptRecordError");
  });
});
