# Grouped bars: each target's headline rate relative to wsgate, per scenario (bench/run.sh).
# gnuplot -e "datafile='X.dat'; outfile='X.png'; ncols=N" bench/chart.gp  (N: columns incl. the scenario)
set terminal pngcairo size 1400,600 noenhanced font ",10"
set output outfile
set title "Headline rate relative to wsgate (1.0 = wsgate; higher is better)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set key outside right top
set xtics rotate by -30 scale 0
set ylabel "ratio to wsgate"
set grid ytics
set yrange [0:*]
plot for [i=2:ncols] datafile using i:xtic(1) title columnheader(i)
