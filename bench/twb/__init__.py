"""twb: the twinfs benchmark harness (bench/twbench drives it).

Modules:
  profiles  sizes, repetitions and subjects of the quick/full/smoke runs
  subjects  the filesystems measured and how each is made and mounted
  ceiling   the FUSE ceiling: libfuse's passthrough_ll, compiled at bench time
  fiojob    fio job files and their parser
  parse     parsers of opbench output, counter snapshots, time lines
  stats     median and spread
  runner    executes a plan on one machine (the guest, or the host)
  report    results.json/.csv, the Markdown report and the terminal table
  fusecost  the report's section on what FUSE and the daemon cost
  plot      gnuplot scripts (PNG and SVG)
  progress  the progress display

Standard library only; runs under Debian's /usr/bin/python3.
"""
