# fq-eval plot: run `gnuplot <this file>` to redraw
set terminal pngcairo size 900,600 enhanced font 'DejaVu Sans,11'
set output 'docs/results/source-d128.png'
set title 'Canonical source, d = 128: total MSE per unit vector' noenhanced
set xlabel 'bits per coordinate (payload)' noenhanced
set ylabel 'total MSE per unit vector E||z - z_hat||^2' noenhanced
set grid xtics ytics mxtics mytics lc rgb '#cccccc'
set key bottom left box opaque noenhanced
set logscale y
set format y '10^{%L}'
set datafile missing 'NaN'
set offsets graph 0.03, graph 0.03, 0, 0
$s0 << EOD
1 0.3608672742
2 0.1158940202
3 0.03379681342
4 0.009281167392
EOD
$s1 << EOD
1 0.36185873
2 0.1063831767
3 0.02935870762
4 0.007713662195
EOD
$s2 << EOD
2 0.1004880314
3 0.02715034338
EOD
$s3 << EOD
1 0.3391697518
2 0.09590602797
EOD
$s4 << EOD
0.5 0.6016630623
1 0.3205145715
EOD
$s5 << EOD
0.5 0.5781976335
EOD
$s6 << EOD
0.25 0.7677593305
EOD
$s7 << EOD
0.5 0.5371441344
1 0.2744256093
1.5 0.141241822
2 0.07208851155
3 0.0189620755
4 0.005025238944
EOD
$s8 << EOD
1 0.2723416773
2 0.06889205899
EOD
$s9 << EOD
2 0.0913860734
EOD
$s10 << EOD
0.25 0.7071067812
0.325 0.6372803137
0.4 0.5743491775
0.475 0.5176324619
0.55 0.4665164958
0.625 0.4204482076
0.7 0.3789291416
0.775 0.3415100642
0.85 0.3077861033
0.925 0.277392368
1 0.25
1.075 0.2253126157
1.15 0.2030630991
1.225 0.183010712
1.3 0.1649384888
1.375 0.1486508894
1.45 0.1339716828
1.525 0.1207420411
1.6 0.1088188204
1.675 0.09807301224
1.75 0.08838834765
1.825 0.07966003921
1.9 0.07179364719
1.975 0.06470405774
2.05 0.05831456197
2.125 0.05255602595
2.2 0.0473661427
2.275 0.04268875802
2.35 0.03847326292
2.425 0.034674046
2.5 0.03125
2.575 0.02816407696
2.65 0.02538288739
2.725 0.022876339
2.8 0.02061731111
2.875 0.01858136117
2.95 0.01674646035
3.025 0.01509275514
3.1 0.01360235255
3.175 0.01225912653
3.25 0.01104854346
3.325 0.009957504901
3.4 0.008974205898
3.475 0.008088007218
3.55 0.007289320246
3.625 0.006569503244
3.7 0.005920767838
3.775 0.005336094753
3.85 0.004809157865
3.925 0.00433425575
4 0.00390625
EOD
plot $s0 using 1:2 with points pt 7 ps 1.3 title 'scalar (Lloyd-Max, k = 1)', \
     $s1 using 1:2 with linespoints pt 7 ps 1.1 lw 2 title 'fib k = 2', \
     $s2 using 1:2 with linespoints pt 7 ps 1.1 lw 2 title 'fib k = 3', \
     $s3 using 1:2 with linespoints pt 7 ps 1.1 lw 2 title 'fib k = 4', \
     $s4 using 1:2 with linespoints pt 7 ps 1.1 lw 2 title 'fib k = 8', \
     $s5 using 1:2 with linespoints pt 7 ps 1.1 lw 2 title 'fib k = 16', \
     $s6 using 1:2 with linespoints pt 7 ps 1.1 lw 2 title 'fib k = 32', \
     $s7 using 1:2 with linespoints pt 7 ps 1.1 lw 2 title 'tcq L = 12 (trellis)', \
     $s8 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#e377c2' title 'tcq L = 16 (trellis)', \
     $s9 using 1:2 with points pt 7 ps 1.3 lc rgb '#8c564b' title 'E8P lattice (QuIP#): 1.65 dB above at 2 bits', \
     $s10 using 1:2 with lines lw 2 dt 2 lc rgb '#000000' title 'Shannon bound 4^-b'
unset output
