/* C peer for bench/i2c_read.ts: the same SMBus "read byte data" ioctl (0x77, reg 0xD0) that
 * hal/linux issues, timed per call. Prints one JSON line per repeat: {"peer":"c","nsPerCall":N}.
 * Usage: i2c_read_c [bus|null] [calls] [repeats]
 * "null" times the same ioctl on /dev/null (fails with ENOTTY): the syscall round trip without a
 * driver, for the host-side dispatch comparison. */
#include <fcntl.h>
#include <linux/i2c-dev.h>
#include <linux/i2c.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv) {
  int null_mode = argc > 1 && argv[1][0] == 'n';
  int bus = argc > 1 && !null_mode ? atoi(argv[1]) : 0;
  int calls = argc > 2 ? atoi(argv[2]) : 20000;
  int repeats = argc > 3 ? atoi(argv[3]) : 5;
  char path[32];
  snprintf(path, sizeof path, null_mode ? "/dev/null" : "/dev/i2c-%d", bus);
  int fd = open(path, O_RDWR);
  if (fd < 0 || (!null_mode && ioctl(fd, I2C_SLAVE, 0x77) < 0)) {
    perror(path);
    return 1;
  }
  union i2c_smbus_data data;
  struct i2c_smbus_ioctl_data args = {I2C_SMBUS_READ, 0xD0, I2C_SMBUS_BYTE_DATA, &data};
  for (int r = 0; r < repeats; r++) {
    double t0 = now_ns();
    for (int i = 0; i < calls; i++) {
      if (ioctl(fd, I2C_SMBUS, &args) < 0 && !null_mode) {
        perror("I2C_SMBUS");
        return 1;
      }
    }
    printf("{\"peer\":\"%s\",", null_mode ? "c-null" : "c");
    printf("\"nsPerCall\":%.1f,\"value\":%d}\n", (now_ns() - t0) / calls, data.byte);
  }
  close(fd);
  return 0;
}
