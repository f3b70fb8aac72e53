package dev.zcproxy.proxy.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.timeout.IdleStateHandler;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Answers plain GET hits straight from the bytes a client sent, in front of Netty's HTTP/1 request decoder: no
 * request object, header map or decoder pass is made for them. The front of a plain HTTP/1.x client pipeline,
 * installed with {@link FrontHits} (which it asks and writes through), only where the decoder is the
 * {@link StrictRequestDecoder} and its state can be read.
 *
 * <p>A strict matcher: it takes only a complete head of exactly {@code GET /<target> HTTP/1.1} with CRLF line
 * ends, a target of visible ASCII, fields of token names and visible-ASCII (or SP/HTAB) values, one
 * {@code Host}, at most {@value #MAX_FIELDS} fields within {@value #MAX_HEAD} bytes, and no field that frames a
 * body or changes the protocol ({@code Content-Length}, {@code Transfer-Encoding}, {@code Upgrade},
 * {@code Expect}, {@code HTTP2-Settings}). Anything else (a partial head, a bare LF, obs-fold, a NUL or other
 * control byte, obs-text, absolute form, a second {@code Host}, a head over the decoder's limits or this one's) and every byte after it goes to
 * the decoder unchanged, as does every byte of a read that comes while the decoder holds part of a request or
 * Vert.x has a request under way on the connection. Bytes answered here are consumed; the rest of the read
 * follows in order, so a response written here always precedes the responses to the requests behind it.
 *
 * <p>A head whose bytes are those of the last head answered here (up to {@value #MAX_MEMO} bytes, kept when the
 * answerer left a note for it) is not parsed again: it is offered with that note and the kept fields.
 */
final class RawHits extends FlushAtReadEnd {
  /** The handler's name in the pipeline. */
  static final String NAME = "zcproxy-raw-hits";
  /** The largest head taken here; a longer one goes to the decoder (whose own limits then apply). */
  static final int MAX_HEAD = 4096;
  /** The most fields a head taken here may have. */
  static final int MAX_FIELDS = 32;
  /** The longest head kept for the repeat check ({@link #memoHead}): bounds what an idle connection holds. */
  static final int MAX_MEMO = 1024;
  /** The most bytes of one read looked at; heads beyond go to the decoder. */
  private static final int MAX_BATCH = 16384;
  private static final byte[] VERSION_CRLF = " HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final boolean[] TCHAR = new boolean[256];
  /** Names sent as they are by common clients, kept as constants instead of a new string per request. */
  private static final String[] KNOWN = {"Host", "host", "User-Agent", "user-agent", "Accept", "accept",
      "Accept-Encoding", "accept-encoding", "Accept-Language", "accept-language", "Connection", "connection",
      "Cache-Control", "cache-control", "Pragma", "Cookie", "cookie", "Referer", "If-None-Match", "If-Modified-Since",
      "Range", "Authorization", "X-Forwarded-For"};
  private static final byte[][] KNOWN_BYTES = new byte[KNOWN.length][];
  /** Fields that frame a body or change the protocol: a head with one is the decoder's and Vert.x's. */
  private static final String[] DENIED = {"content-length", "transfer-encoding", "upgrade", "expect", "http2-settings"};

  static {
    for (char c = '0'; c <= '9'; c++) {
      TCHAR[c] = true;
    }
    for (char c = 'a'; c <= 'z'; c++) {
      TCHAR[c] = true;
      TCHAR[c - 'a' + 'A'] = true;
    }
    for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
      TCHAR[c] = true;
    }
    for (int i = 0; i < KNOWN.length; i++) {
      KNOWN_BYTES[i] = KNOWN[i].getBytes(StandardCharsets.US_ASCII);
    }
  }

  private final FrontHits front;
  private final ChannelHandlerContext decoder;
  private final Runnable answeredAhead;
  /** The bytes of the read being matched (grown up to {@link #MAX_BATCH}). */
  private byte[] bytes = new byte[512];
  /** The last head matched: its fields, their number, its target. */
  final String[] names = new String[MAX_FIELDS];
  final String[] values = new String[MAX_FIELDS];
  int count;
  String uri;
  /** The last target and Host value seen on the connection and their strings: a keep-alive client repeats them. */
  private byte[] lastUri;
  private String lastUriString;
  private byte[] lastHost;
  private String lastHostString;

  /**
   * The last head answered here that the answerer left a note for ({@link FrontHits.Request#remember}): its bytes,
   * target, fields and the note. A keep-alive client that sends the same bytes again is offered that note and
   * these fields without a parse. {@code null} when there is none, or the head was longer than {@value #MAX_MEMO}
   * bytes. Owned by the channel's event loop, like everything here.
   */
  private byte[] memoHead;
  private String memoUri;
  private String[] memoNames;
  private String[] memoValues;
  private Object memoNote;

  /** The context of Vert.x's idle timer ({@code "idle"}) as last found, or {@code null}. */
  private ChannelHandlerContext idleContext;

  /** The decoder's limits: a head beyond either is the decoder's to refuse. */
  private final int maxInitialLine;
  private final int maxHeaderSize;

  /**
   * @param answeredAhead told of each head answered here (the head timer's count)
   * @param maxInitialLine the decoder's longest request line
   * @param maxHeaderSize the decoder's most bytes of fields
   */
  RawHits(FrontHits front, ChannelHandlerContext decoder, Runnable answeredAhead, int maxInitialLine, int maxHeaderSize) {
    this.front = front;
    this.decoder = decoder;
    this.answeredAhead = answeredAhead;
    this.maxInitialLine = maxInitialLine;
    this.maxHeaderSize = maxHeaderSize;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof ByteBuf buf) || decoder.isRemoved() || !(decoder.handler() instanceof StrictRequestDecoder d)
        || !d.atRequestStart() || !front.enabled() || !front.vertxIdle(ctx)) {
      ctx.fireChannelRead(msg);
      return;
    }
    int n = Math.min(buf.readableBytes(), MAX_BATCH);
    if (bytes.length < n) {
      bytes = new byte[Math.min(MAX_BATCH, Math.max(n, bytes.length * 2))];
    }
    buf.getBytes(buf.readerIndex(), bytes, 0, n);
    int at = 0;
    while (at < n && ctx.channel().isActive()) {
      FrontHits.Reply hit;
      int end;
      String target;
      byte[] memo = memoHead;
      if (memo != null && n - at >= memo.length && Arrays.equals(bytes, at, at + memo.length, memo, 0, memo.length)) {
        // the same bytes as the head the note was left for: the same head (it ends at its only empty line)
        end = at + memo.length;
        target = memoUri;
        hit = front.askRaw(target, memoNames, memoValues, memoNames.length, memoNote);
        Object note = front.lastNote();
        if (note == null) {
          remember(0, 0, null); // the answerer took the note back: the next head is parsed
        } else {
          memoNote = note;
        }
      } else {
        end = parse(bytes, at, n);
        if (end < 0) {
          break;
        }
        target = uri;
        hit = front.askRaw(target, names, values, count, null);
        remember(at, end, front.lastNote());
      }
      if (hit == null || !front.write(ctx, hit, target)) {
        break; // this head and every byte after it go to the decoder
      }
      answeredAhead.run();
      flushAtReadEnd();
      at = end;
      if (front.passing()) {
        break; // answered from the origin later: every byte behind it waits for its end
      }
    }
    Arrays.fill(values, 0, count, null);
    if (at > 0) {
      buf.skipBytes(at);
      // Vert.x's idle timer sits behind the decoder: it sees neither these bytes nor the writes made here
      IdleStateHandler idle = idle(ctx);
      if (idle != null) {
        idle.resetReadTimeout(); // one clock read: an all-idle timer counts from the later of read and write
        if (idle.getWriterIdleTimeInMillis() > 0) {
          idle.resetWriteTimeout();
        }
      }
    }
    if (buf.isReadable()) {
      ctx.fireChannelRead(buf);
    } else {
      buf.release();
    }
  }

  /** Keeps the head in {@code bytes[from, to)} (just parsed) with {@code note}, or forgets the last one when it is {@code null}. */
  private void remember(int from, int to, Object note) {
    if (note == null || to - from > MAX_MEMO) {
      memoHead = null;
      memoNote = null;
      memoUri = null;
      memoNames = null;
      memoValues = null;
      return;
    }
    memoHead = Arrays.copyOfRange(bytes, from, to);
    memoUri = uri;
    memoNames = Arrays.copyOf(names, count);
    memoValues = Arrays.copyOf(values, count);
    memoNote = note;
  }

  /** Vert.x's idle timer on this channel, or {@code null}; looked up by name only when its context changed. */
  private IdleStateHandler idle(ChannelHandlerContext ctx) {
    ChannelHandlerContext c = idleContext;
    if (c == null || c.isRemoved()) {
      c = ctx.pipeline().context("idle");
      idleContext = c;
      if (c == null) {
        return null;
      }
    }
    return c.handler() instanceof IdleStateHandler h ? h : null;
  }

  /**
   * Matches one complete strict simple GET head in {@code b} from {@code from} (data up to {@code limit}); returns
   * the index just past its empty line, with {@link #uri}, {@link #names}, {@link #values} and {@link #count}
   * set, or -1 when the bytes there are anything else (or not all there).
   */
  int parse(byte[] b, int from, int limit) {
    int end = Math.min(limit, from + MAX_HEAD);
    int i = from;
    if (end - i < 5 || b[i] != 'G' || b[i + 1] != 'E' || b[i + 2] != 'T' || b[i + 3] != ' ' || b[i + 4] != '/') {
      return -1;
    }
    int ts = i + 4;
    i = ts;
    while (i < end && b[i] != ' ') {
      if (b[i] < 0x21 || b[i] > 0x7e) { // signed: obs-text is negative
        return -1;
      }
      i++;
    }
    int te = i;
    if (end - i < VERSION_CRLF.length || !Arrays.equals(b, i, i + VERSION_CRLF.length, VERSION_CRLF, 0, VERSION_CRLF.length)) {
      return -1;
    }
    i += VERSION_CRLF.length;
    if (i - from - 2 > maxInitialLine) {
      return -1;
    }
    int fieldsFrom = i;
    count = 0;
    boolean host = false;
    while (true) {
      if (end - i < 2) {
        return -1;
      }
      if (b[i] == '\r') {
        if (b[i + 1] != '\n') {
          return -1;
        }
        i += 2;
        break;
      }
      if (count == MAX_FIELDS) {
        return -1;
      }
      int ns = i;
      while (i < end && b[i] >= 0 && TCHAR[b[i]]) {
        i++;
      }
      if (i == ns || i >= end || b[i] != ':') {
        return -1; // obs-fold, space before the colon, a bad name byte, or not all there
      }
      int ne = i++;
      while (i < end && (b[i] == ' ' || b[i] == '\t')) {
        i++;
      }
      int vs = i;
      while (i < end && ((b[i] >= 0x20 && b[i] <= 0x7e) || b[i] == '\t')) {
        i++;
      }
      if (end - i < 2 || b[i] != '\r' || b[i + 1] != '\n') {
        return -1; // a control byte (NUL, bare LF, CR alone), obs-text, or not all there
      }
      int ve = i;
      while (ve > vs && (b[ve - 1] == ' ' || b[ve - 1] == '\t')) {
        ve--;
      }
      i += 2;
      String name = name(b, ns, ne);
      for (String denied : DENIED) {
        if (denied.equalsIgnoreCase(name)) {
          return -1;
        }
      }
      String value;
      if (name.equalsIgnoreCase("host")) {
        if (host) {
          return -1;
        }
        host = true;
        if (lastHost == null || !Arrays.equals(lastHost, 0, lastHost.length, b, vs, ve)) {
          lastHost = Arrays.copyOfRange(b, vs, ve);
          lastHostString = new String(b, vs, ve - vs, StandardCharsets.ISO_8859_1);
        }
        value = lastHostString;
      } else {
        value = new String(b, vs, ve - vs, StandardCharsets.ISO_8859_1);
      }
      names[count] = name;
      values[count] = value;
      count++;
    }
    if (!host || i - fieldsFrom > maxHeaderSize) {
      return -1;
    }
    if (lastUri == null || !Arrays.equals(lastUri, 0, lastUri.length, b, ts, te)) {
      lastUri = Arrays.copyOfRange(b, ts, te);
      lastUriString = new String(b, ts, te - ts, StandardCharsets.ISO_8859_1);
    }
    uri = lastUriString;
    return i;
  }

  private static String name(byte[] b, int from, int to) {
    int len = to - from;
    for (int k = 0; k < KNOWN_BYTES.length; k++) {
      byte[] known = KNOWN_BYTES[k];
      if (known.length == len && Arrays.equals(known, 0, len, b, from, to)) {
        return KNOWN[k];
      }
    }
    return new String(b, from, len, StandardCharsets.ISO_8859_1);
  }
}
