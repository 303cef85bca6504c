(function(w,d){function r(){if(w.AP&&w.AP.resize)w.AP.resize()}w.addEventListener("load",r);d.addEventListener("toggle",r,true)})(window,document);
