package dev.zcproxy.proxy.it;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A plain-socket origin on 127.0.0.1 (port 0) that frames requests the way a simple origin does
 * (Content-Length first, else chunked, else no body), records every request it parsed with its raw
 * head and body, and answers each with a cacheable 200 whose body names the path it saw.
 *
 * <p>It exists to show what bytes the proxy really forwards: if the proxy passes a client's framing
 * through, this origin reads a smuggled second request and answers it, as a real origin would. Its body
 * reflects {@code X-Forwarded-Host} (else {@code Host}), as applications that build absolute links do,
 * so a poisoned forwarded header would show in what the cache stores.
 */
final class RecordingOrigin implements AutoCloseable {
  /** One request as this origin parsed it. */
  record Seen(String requestLine, String head, Map<String, List<String>> headers, byte[] body) {
    String path() {
      String[] parts = requestLine.split(" ");
      return parts.length > 1 ? parts[1] : "";
    }

    String header(String name) {
      List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
      return v == null ? null : String.join(", ", v);
    }

    String bodyText() {
      return new String(body, StandardCharsets.ISO_8859_1);
    }
  }

  private final ServerSocket server;
  private final List<Seen> seen = new CopyOnWriteArrayList<>();
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final Thread acceptor;

  private RecordingOrigin() throws IOException {
    server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
    acceptor = new Thread(this::accept, "raw-origin");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  static RecordingOrigin start() throws IOException {
    return new RecordingOrigin();
  }

  String url() {
    return "http://127.0.0.1:" + server.getLocalPort();
  }

  List<Seen> requests() {
    return new ArrayList<>(seen);
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        sockets.add(s);
        Thread t = new Thread(() -> serve(s), "raw-origin-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket s) {
    try (s) {
      s.setSoTimeout(30_000);
      InputStream in = s.getInputStream();
      OutputStream out = s.getOutputStream();
      while (true) {
        String head = readHead(in);
        if (head == null) {
          return;
        }
        String[] lines = head.split("\r\n");
        Map<String, List<String>> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
          int colon = lines[i].indexOf(':');
          if (colon > 0) {
            headers.computeIfAbsent(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                .add(lines[i].substring(colon + 1).trim());
          }
        }
        byte[] body;
        List<String> cl = headers.get("content-length");
        List<String> te = headers.get("transfer-encoding");
        if (cl != null) {
          body = in.readNBytes(Integer.parseInt(cl.get(0)));
        } else if (te != null && te.get(te.size() - 1).toLowerCase(Locale.ROOT).endsWith("chunked")) {
          body = readChunked(in);
        } else {
          body = new byte[0];
        }
        Seen r = new Seen(lines[0], head, headers, body);
        seen.add(r);
        String method = lines[0].split(" ")[0];
        String via = r.header("x-forwarded-host") != null ? r.header("x-forwarded-host") : r.header("host");
        byte[] payload = ("origin saw " + r.path() + " via " + via).getBytes(StandardCharsets.ISO_8859_1);
        String resp = "HTTP/1.1 200 OK\r\nCache-Control: max-age=600\r\nContent-Type: text/plain\r\nContent-Length: "
            + payload.length + "\r\n\r\n";
        out.write(resp.getBytes(StandardCharsets.ISO_8859_1));
        if (!method.equals("HEAD")) {
          out.write(payload);
        }
        out.flush();
      }
    } catch (IOException | RuntimeException e) {
      // connection ends
    }
  }

  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int state = 0;
    while (state < 4) {
      int c = in.read();
      if (c < 0) {
        return null;
      }
      b.write(c);
      state = (c == '\r' && (state == 0 || state == 2)) || (c == '\n' && (state == 1 || state == 3)) ? state + 1 : c == '\r' ? 1 : 0;
      if (b.size() > 65536) {
        return null;
      }
    }
    String s = b.toString(StandardCharsets.ISO_8859_1);
    return s.substring(0, s.length() - 4);
  }

  private static byte[] readChunked(InputStream in) throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    while (true) {
      String line = readLine(in);
      int semi = line.indexOf(';');
      int size = Integer.parseInt((semi < 0 ? line : line.substring(0, semi)).trim(), 16);
      if (size == 0) {
        while (!readLine(in).isEmpty()) {
          // trailers
        }
        return body.toByteArray();
      }
      body.write(in.readNBytes(size));
      readLine(in);
    }
  }

  private static String readLine(InputStream in) throws IOException {
    StringBuilder sb = new StringBuilder();
    int c;
    while ((c = in.read()) >= 0 && c != '\n') {
      if (c != '\r') {
        sb.append((char) c);
      }
    }
    if (c < 0) {
      throw new IOException("eof");
    }
    return sb.toString();
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (Socket s : sockets) {
      s.close();
    }
  }
}
