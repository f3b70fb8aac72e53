package dev.zcproxy.proxy.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InvalidationProgressTest {
  @TempDir
  Path dir;

  @Test
  void aFreshCacheHasNoRecordAndARecordSurvivesARestart() {
    InvalidationProgress p = InvalidationProgress.load(dir);
    assertThat(p.epoch()).isEmpty();
    assertThat(p.sequence()).isEqualTo(-1);
    p.applied("e1", 7);
    p.applied("e1", 5); // out of order: the highest stays
    p.flush();
    InvalidationProgress again = InvalidationProgress.load(dir);
    assertThat(again.epoch()).isEqualTo("e1");
    assertThat(again.sequence()).isEqualTo(7);
    assertThat(dir.resolve(InvalidationProgress.FILE + ".tmp")).doesNotExist();
  }

  @Test
  void aNewEpochStartsTheCountAgain() {
    InvalidationProgress p = InvalidationProgress.load(dir);
    p.applied("e1", 40);
    p.applied("e2", 3); // the whole cluster was down: its log starts again
    assertThat(p.epoch()).isEqualTo("e2");
    assertThat(p.sequence()).isEqualTo(3);
  }

  @Test
  void aDamagedRecordIsIgnoredAndNoDirectoryMeansNothingWritten() throws Exception {
    Files.writeString(dir.resolve(InvalidationProgress.FILE), "garbage");
    assertThat(InvalidationProgress.load(dir).sequence()).isEqualTo(-1);
    InvalidationProgress none = InvalidationProgress.load(null);
    none.applied("e", 1);
    none.flush(); // nowhere to write: a cluster node without a cache
    assertThat(none.sequence()).isEqualTo(1);
  }
}
